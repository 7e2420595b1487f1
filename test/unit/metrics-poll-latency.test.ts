/**
 * After known sequences of produces and polls (on a MemorySource, with the gateway's clock held
 * by the test), the latency histograms hold exactly the expected observations: ingest per
 * record; poll delivery per update new to the client according to its ETag (never on a first
 * load, a 304, a HEAD or an ETag it cannot read; table rows overwritten since not counted;
 * sampling past the per-stream cap); SSE delivery per update; and the pollers gauge.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { test } from 'node:test';
import { openSse } from '../helpers/sse-client.ts';
import { get, histogram, metricsFixture, ORDERS, parseExposition, TOTALS } from './metrics-fixture.ts';

const order = (id: string, createdAt: number) => ({
  key: id,
  value: JSON.stringify({ id, lat: 1, lon: 2, amountUsd: 10, createdAt }),
  timestamp: createdAt,
});
const total = (country: string, orders: number, createdAt: number) => ({
  key: country,
  value: JSON.stringify({ country, orders, revenueUsd: orders * 10 }),
  timestamp: createdAt,
});

/** Count exact, sum (seconds) to the microsecond. */
function assertHistogram(h: { count: number; sum: number }, count: number, sum: number): void {
  assert.equal(h.count, count);
  assert.ok(Math.abs(h.sum - sum) < 1e-6, `sum ${h.sum}, expected ${sum}`);
}

function head(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'HEAD', headers, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('poll delivery latency: each update new to the client, from its ETag', async (t) => {
  const f = await metricsFixture(t);
  const snapshot = `${f.url}/v1/snapshot`;
  const poll = () => histogram(f.ctx, 'deliveryLatency', { transport: 'poll' });

  // A first load (no ETag) delivers nothing new.
  const first = await get(snapshot);
  assert.equal(first.status, 200);
  const e0 = first.headers.etag!;
  assert.deepEqual(await poll(), { count: 0, sum: 0 });

  // Three orders, created 3 s, 2 s and 1 s before the next poll.
  const t0 = f.clock.now;
  f.source.produce(ORDERS, [order('a', t0 - 3000), order('b', t0 - 2000), order('c', t0 - 1000)]);
  await f.applied(3);
  assert.equal((await histogram(f.ctx, 'ingestLatency', { stream: 'orders' })).count, 3);
  const second = await get(snapshot, { 'if-none-match': e0 });
  assert.equal(second.status, 200);
  assertHistogram(await poll(), 3, 6);

  // Nothing new since: a 304, nothing observed.
  const e1 = second.headers.etag!;
  assert.equal((await get(snapshot, { 'if-none-match': e1 })).status, 304);
  assert.equal((await poll()).count, 3);

  // A table row updated twice between polls was delivered once, in its latest version.
  f.clock.now += 10_000;
  const t1 = f.clock.now;
  f.source.produce(TOTALS, [total('US', 1, t1 - 5000), total('FR', 1, t1 - 4000), total('US', 2, t1 - 500)]);
  await f.applied(6);
  const third = await get(snapshot, { 'if-none-match': e1 });
  assert.equal(third.status, 200);
  assertHistogram(await poll(), 5, 6 + 4 + 0.5);

  // What cannot be read as "what the client had" is not observed: HEAD, garbage, another selection.
  const orderOnly = await get(`${snapshot}?streams=orders`);
  f.source.produce(ORDERS, [order('d', f.clock.now - 100)]);
  await f.applied(7);
  const e3 = third.headers.etag!;
  assert.equal(await head(snapshot, { 'if-none-match': e3 }), 200);
  assert.equal((await get(snapshot, { 'if-none-match': 'W/"not-an-event-id"' })).status, 200);
  assert.equal((await get(snapshot, { 'if-none-match': '"abc123:1_2"' })).status, 200);
  assert.equal((await get(snapshot, { 'if-none-match': orderOnly.headers.etag! })).status, 200);
  assert.equal((await get(snapshot)).status, 200);
  assert.equal((await poll()).count, 5, 'none of these observed');
  // The orders-only client gets its one new order.
  assert.equal(
    (await get(`${snapshot}?streams=orders`, { 'if-none-match': orderOnly.headers.etag! })).status,
    200,
  );
  assertHistogram(await poll(), 6, 10.5 + 0.1);
});

test('poll delivery latency: at most 64 samples per stream, spread over what the response carried', async (t) => {
  const f = await metricsFixture(t);
  const snapshot = `${f.url}/v1/snapshot?streams=orders`;
  const e0 = (await get(snapshot)).headers.etag!;
  // 640 orders, created 0..639 ms before the poll; the feed keeps its newest 500 (maxItems), so
  // the response carries those, aged 0..499 ms: mean 249.5 ms. The 140 older ones never reached it.
  const now = f.clock.now;
  f.source.produce(
    ORDERS,
    Array.from({ length: 640 }, (_, i) => order(`o${i}`, now - 639 + i)),
  );
  await f.applied(640);
  assert.equal((await get(snapshot, { 'if-none-match': e0 })).status, 200);
  const { count, sum } = await histogram(f.ctx, 'deliveryLatency', { transport: 'poll' });
  assert.equal(count, 64);
  // Evenly spread samples: their mean is the mean of all delivered (249.5 ms) within one stride (8 ms).
  assert.ok(Math.abs((sum / count) * 1000 - 249.5) <= 8, `mean ${(sum / count) * 1000} ms`);
});

test('SSE delivery latency: each update written to streaming clients', async (t) => {
  const f = await metricsFixture(t);
  const sse = await openSse(`${f.url}/v1/stream`, { t });
  assert.equal((await sse.nextEvent()).event, 'snapshot');
  const now = f.clock.now;
  f.source.produce(ORDERS, [order('a', now - 20), order('b', now - 5)]);
  await sse.takeEvents(2);
  assertHistogram(await histogram(f.ctx, 'deliveryLatency', { transport: 'sse' }), 2, 0.025);
});

test('pollers: distinct clients per poll interval, keep-alive polls counted once', async (t) => {
  const f = await metricsFixture(t);
  const a = new Agent({ keepAlive: true, maxSockets: 1 });
  const b = new Agent({ keepAlive: true, maxSockets: 1 });
  t.after(() => {
    a.destroy();
    b.destroy();
  });
  const pollers = async () =>
    parseExposition((await get(`${f.url}/metrics`)).text).samples.find((s) => s.name === 'switchyard_pollers')
      ?.value;
  assert.equal(await pollers(), 0);
  for (let i = 0; i < 3; i++) await get(`${f.url}/v1/snapshot`, {}, a);
  await get(`${f.url}/v1/snapshot`, {}, b);
  assert.equal(await pollers(), 2);
  // Two intervals later without polls, nobody is polling any more.
  f.clock.now += 20_000;
  assert.equal(await pollers(), 0);
});
