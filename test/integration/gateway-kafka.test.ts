/**
 * Issue 2 against the real broker: produce -> snapshot and stream, resume, resync, 304, table
 * delete, feed trimming, bad records, injection, a client that never reads, broker restart,
 * readiness. Each test gets fresh topics and its own gateway; waits are on gateway events.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, describe, test } from 'node:test';
import type { GatewayContext } from '../../gateway/context.ts';
import { createApp } from '../../gateway/http/app.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { createGateway, loadConfig, startGateway, stopGateway } from '../../gateway/switchyard.ts';
import { closeKafkaHelpers, createTopic, kafkaBrokers, produce, restartBroker } from '../helpers/kafka.ts';
import { assertReadyWithin, serveGateway } from '../helpers/served-gateway.ts';
import { httpGet, listen, openSse, type SseEventItem, type Teardown } from '../helpers/sse-client.ts';

after(() => closeKafkaHelpers());

interface Fixture {
  ctx: GatewayContext;
  url: string;
  table: string;
  feed: string;
}

/** Fresh topics, a gateway on the real KafkaSource, listening on a free port; all closed on teardown. */
async function gateway(
  t: Teardown,
  env: Record<string, string> = {},
  opts: {
    partitions?: number;
    compactedTable?: boolean;
    before?: (f: { table: string; feed: string }) => Promise<void>;
  } = {},
): Promise<Fixture> {
  const partitions = opts.partitions ?? 3;
  const table = await createTopic('it-table', { partitions, compacted: opts.compactedTable ?? true });
  const feed = await createTopic('it-feed', { partitions });
  await opts.before?.({ table, feed });
  const config = loadConfig({
    KAFKA_BROKERS: kafkaBrokers().join(','),
    STREAMS: JSON.stringify([
      { name: 'totals', topic: table, mode: 'table' },
      { name: 'orders', topic: feed, mode: 'feed', maxItems: 5 },
    ]),
    HEARTBEAT_MS: '1000',
    ...env,
  });
  const ctx = createGateway(config, { logger: createLogger('silent') });
  await startGateway(ctx);
  const { url } = await serveGateway(t, ctx);
  await ready(ctx);
  return { ctx, url, table, feed };
}

const ready = (ctx: GatewayContext) => assertReadyWithin(ctx, 30_000);

/** Waits until the cache's table/feed satisfy a predicate (checked on every applied batch). */
async function until(ctx: GatewayContext, what: string, pred: () => boolean): Promise<void> {
  assert.ok(await ctx.hub.waitUntil(pred, 20_000), `timed out waiting for ${what}`);
}

const tableOf = (ctx: GatewayContext) => ctx.cache.streams.get('totals')!.table!;
const feedSize = (ctx: GatewayContext) => ctx.cache.streams.get('orders')!.feed!.size;
const json = (e: SseEventItem) => JSON.parse(e.data) as Record<string, unknown>;

describe('gateway on a real Kafka broker', () => {
  test('a produced record is seen on /v1/snapshot and on /v1/stream', async (t) => {
    const f = await gateway(t);
    const sse = await openSse(`${f.url}/v1/stream?streams=orders,totals`, { t });
    assert.equal(sse.status, 200);
    const snap = await sse.nextEvent();
    assert.equal(snap.event, 'snapshot');
    await produce(f.table, [{ key: 'DE', value: JSON.stringify({ orders: 1 }), partition: 1 }]);
    await produce(f.feed, [{ key: 'o1', value: JSON.stringify({ city: 'Berlin' }), partition: 2 }]);
    const got = await sse.takeUpdates(2);
    const byStream = Object.fromEntries(got.map((e) => [json(e).stream, json(e)]));
    assert.deepEqual((byStream.totals as { value: unknown }).value, { orders: 1 });
    assert.deepEqual((byStream.orders as { value: unknown }).value, { city: 'Berlin' });
    const poll = await httpGet(`${f.url}/v1/snapshot?streams=orders,totals`);
    assert.equal(poll.status, 200);
    const body = JSON.parse(poll.text);
    assert.deepEqual(body.streams.totals.entries.DE.value, { orders: 1 });
    assert.equal(body.streams.orders.items[0].key, 'o1');
    // The poll and the stream agree on the position.
    assert.equal(body.position, got[1]!.id);
    assert.equal(poll.headers.etag, `W/"${body.position}"`);
  });

  test('resume with Last-Event-ID replays exactly the missed updates; too old -> resync', async (t) => {
    const f = await gateway(t, { HISTORY_SIZE: '20', HISTORY_SECONDS: '0' });
    const first = await openSse(`${f.url}/v1/stream?streams=totals`, { t });
    await first.nextEvent();
    await produce(
      f.table,
      [0, 1, 2].map((i) => ({ key: `k${i}`, value: `{"n":${i}}`, partition: i % 3 })),
    );
    const seen = await first.takeUpdates(3);
    const lastId = seen[2]!.id!;
    first.close();
    // Missed while disconnected: 5 updates over all partitions.
    await produce(
      f.table,
      [3, 4, 5, 6, 7].map((i) => ({ key: `k${i}`, value: `{"n":${i}}`, partition: i % 3 })),
    );
    await until(f.ctx, '8 keys', () => tableOf(f.ctx).size === 8);
    const resumed = await openSse(`${f.url}/v1/stream?streams=totals`, {
      t,
      headers: { 'last-event-id': lastId },
    });
    const replay = await resumed.takeUpdates(5);
    assert.deepEqual(replay.map((e) => json(e).key).sort(), ['k3', 'k4', 'k5', 'k6', 'k7']);
    assert.ok(replay.every((e) => e.event === 'update'));
    // Same via the query parameter on a first connection, from the very same id.
    const viaQuery = await openSse(
      `${f.url}/v1/stream?streams=totals&lastEventId=${encodeURIComponent(lastId)}`,
      { t },
    );
    assert.deepEqual(
      (await viaQuery.takeUpdates(5)).map((e) => e.id),
      replay.map((e) => e.id),
    );
    // Push the first id out of the 20-entry history: a resume from it is a resync snapshot.
    await produce(
      f.table,
      Array.from({ length: 25 }, (_, i) => ({ key: `x${i}`, value: '{}', partition: i % 3 })),
    );
    await until(f.ctx, '33 keys', () => tableOf(f.ctx).size === 33);
    const stale = await openSse(`${f.url}/v1/stream?streams=totals`, {
      t,
      headers: { 'last-event-id': lastId },
    });
    const resync = await stale.nextEvent();
    assert.equal(resync.event, 'snapshot');
    assert.equal(json(resync).resync, true);
    assert.equal(json(resync).reason, 'too_old');
    assert.equal(
      Object.keys((json(resync).streams as { totals: { entries: object } }).totals.entries).length,
      33,
    );
  });

  test('polling answers 304 to a matching ETag, and a new ETag after a change', async (t) => {
    const f = await gateway(t);
    await produce(f.table, [{ key: 'FR', value: '{"orders":2}' }]);
    await until(f.ctx, 'FR', () => tableOf(f.ctx).has('FR'));
    const a = await httpGet(`${f.url}/v1/snapshot?streams=totals`);
    const etag = a.headers.etag!;
    const b = await httpGet(`${f.url}/v1/snapshot?streams=totals`, { 'if-none-match': etag });
    assert.equal(b.status, 304);
    assert.equal(b.body.length, 0);
    await produce(f.table, [{ key: 'FR', value: '{"orders":3}' }]);
    await until(f.ctx, 'FR=3', () => tableOf(f.ctx).get('FR')?.valueJson === '{"orders":3}');
    const c = await httpGet(`${f.url}/v1/snapshot?streams=totals`, { 'if-none-match': etag });
    assert.equal(c.status, 200);
    assert.notEqual(c.headers.etag, etag);
  });

  test('a tombstone deletes a table key, on the stream and in the snapshot', async (t) => {
    const f = await gateway(t);
    const sse = await openSse(`${f.url}/v1/stream?streams=totals`, { t });
    await sse.nextEvent();
    await produce(f.table, [
      { key: 'US', value: '{"orders":1}' },
      { key: 'US', value: null },
    ]);
    const [up, del] = await sse.takeUpdates(2);
    assert.equal(json(up!).op, 'upsert');
    assert.deepEqual(json(del!), { ...json(del!), stream: 'totals', op: 'delete', key: 'US' });
    assert.equal('value' in json(del!), false);
    const body = JSON.parse((await httpGet(`${f.url}/v1/snapshot?streams=totals`)).text);
    assert.deepEqual(body.streams.totals.entries, {});
  });

  test('a feed keeps its newest maxItems, and bootstraps from the last maxItems per partition', async (t) => {
    const f = await gateway(
      t,
      {},
      {
        partitions: 1,
        before: ({ feed }) =>
          produce(
            feed,
            Array.from({ length: 12 }, (_, i) => ({ key: `b${i}`, value: `{"i":${i}}` })),
          ),
      },
    );
    const body1 = JSON.parse((await httpGet(`${f.url}/v1/snapshot?streams=orders`)).text);
    assert.deepEqual(
      body1.streams.orders.items.map((x: { key: string }) => x.key),
      ['b7', 'b8', 'b9', 'b10', 'b11'],
    );
    await produce(f.feed, [
      { key: 'n1', value: '{}' },
      { key: 'n2', value: '{}' },
    ]);
    await until(f.ctx, 'n2', () => [...f.ctx.cache.streams.get('orders')!.feed!].some((x) => x.key === 'n2'));
    const body2 = JSON.parse((await httpGet(`${f.url}/v1/snapshot?streams=orders`)).text);
    assert.deepEqual(
      body2.streams.orders.items.map((x: { key: string }) => x.key),
      ['b9', 'b10', 'b11', 'n1', 'n2'],
    );
    assert.equal(feedSize(f.ctx), 5);
  });

  test('a bad record between two good ones is skipped, counted, and the consumer goes on', async (t) => {
    // Not compacted: a compacted topic refuses keyless records at the broker already.
    const f = await gateway(t, {}, { partitions: 1, compactedTable: false });
    await produce(f.table, [
      { key: 'A', value: '{"ok":1}' },
      { key: 'B', value: '{not json' },
      { key: null, value: '{"no":"key"}' },
      { key: 'C', value: '{"ok":3}' },
    ]);
    await until(f.ctx, 'C', () => tableOf(f.ctx).has('C'));
    assert.deepEqual([...tableOf(f.ctx).keys()].sort(), ['A', 'C']);
    const metrics = (await httpGet(`${f.url}/metrics`)).text;
    assert.match(metrics, /switchyard_records_rejected_total\{stream="totals",reason="invalid_json"\} 1/);
    assert.match(metrics, /switchyard_records_rejected_total\{stream="totals",reason="missing_key"\} 1/);
    // The position moved past the bad records: offsets 0..3 consumed.
    assert.equal(f.ctx.cache.streams.get('totals')!.offsets[0], 4);
  });

  test('values and keys with CR/LF cannot forge SSE fields or events', async (t) => {
    const f = await gateway(t, {}, { partitions: 1 });
    const sse = await openSse(`${f.url}/v1/stream?streams=totals`, { t });
    await sse.nextEvent();
    const evil = 'x\n\nevent: forged\ndata: {"pwned":true}\r\nid: 0\r\r';
    await produce(f.table, [{ key: `k\r\nevent: forged`, value: JSON.stringify({ s: evil }) }]);
    const e = await sse.nextEvent();
    assert.equal(e.event, 'update');
    assert.equal(json(e).key, 'k\r\nevent: forged');
    assert.deepEqual(json(e).value, { s: evil });
    assert.equal(sse.received.filter((i) => i.kind === 'event' && i.event === 'forged').length, 0);
  });

  test('a client that never reads is cut at its buffer limit; others still get everything', async (t) => {
    const f = await gateway(t, { CLIENT_BUFFER_BYTES: '65536' }, { partitions: 1 });
    const good = await openSse(`${f.url}/v1/stream?streams=orders`, { t });
    await good.nextEvent();
    const port = Number(new URL(f.url).port);
    const stuck = connect({ port, host: '127.0.0.1' });
    t.after(() => stuck.destroy());
    stuck.write('GET /v1/stream?streams=orders HTTP/1.1\r\nHost: x\r\n\r\n');
    stuck.pause(); // never reads: the kernel buffers fill, then Node's, then the gateway's queue
    await f.ctx.hub.waitUntil(() => f.ctx.hub.size === 2, 10_000);
    const big = 'y'.repeat(16_000);
    // ~12 MB in all: past 64 KiB plus whatever the kernel's loopback socket buffers absorb.
    const total = 750;
    for (let i = 0; i < total; i += 25)
      await produce(
        f.feed,
        Array.from({ length: 25 }, (_, j) => ({
          key: `m${i + j}`,
          value: JSON.stringify({ i: i + j, big }),
        })),
      );
    const received = await good.takeUpdates(total, 60_000);
    assert.deepEqual(
      received.map((e) => (json(e).value as { i: number }).i),
      Array.from({ length: total }, (_, i) => i),
    );
    await until(f.ctx, 'slow client dropped', () => f.ctx.hub.size === 1);
    const metrics = (await httpGet(`${f.url}/metrics`)).text;
    assert.match(metrics, /switchyard_sse_slow_disconnects_total 1/);
  });

  test('broker stopped and started again: connected clients miss nothing and get nothing twice', async (t) => {
    const f = await gateway(t, { KAFKA_MAX_RETRY_MS: '1000' }, { partitions: 2 });
    const sse = await openSse(`${f.url}/v1/stream?streams=orders`, { t });
    await sse.nextEvent();
    await produce(
      f.feed,
      Array.from({ length: 4 }, (_, i) => ({ key: `s${i}`, value: `{"seq":${i}}`, partition: i % 2 })),
    );
    await sse.takeUpdates(4);
    await restartBroker({ downMs: 3000 });
    await produce(
      f.feed,
      Array.from({ length: 4 }, (_, i) => ({
        key: `s${i + 4}`,
        value: `{"seq":${i + 4}}`,
        partition: i % 2,
      })),
    );
    const after = await sse.takeUpdates(4, 90_000);
    const seqs = [...after.map((e) => (json(e).value as { seq: number }).seq)].sort((a, b) => a - b);
    assert.deepEqual(seqs, [4, 5, 6, 7]);
    // Nothing more arrives: no record applied twice after the consumer rejoined.
    await produce(f.feed, [{ key: 'last', value: '{"seq":8}' }]);
    const [last] = await sse.takeUpdates(1, 30_000);
    assert.equal((json(last!).value as { seq: number }).seq, 8);
    assert.equal(
      f.ctx.cache.streams.get('orders')!.offsets.reduce((a, b) => a + b, 0),
      9,
    );
  });

  test('/readyz is 503 until the bootstrap reached the high-water marks seen at start', async (t) => {
    const table = await createTopic('it-ready', { partitions: 2, compacted: true });
    await produce(
      table,
      Array.from({ length: 300 }, (_, i) => ({ key: `r${i}`, value: `{"i":${i}}`, partition: i % 2 })),
    );
    const config = loadConfig({
      KAFKA_BROKERS: kafkaBrokers().join(','),
      STREAMS: JSON.stringify([{ name: 'totals', topic: table, mode: 'table' }]),
    });
    const ctx = createGateway(config, { logger: createLogger('silent') });
    const server = await listen(createApp(ctx), t);
    t.after(() => stopGateway(ctx));
    // Before the source has planned and read its partitions (deterministically: not started yet).
    const before = await httpGet(`${server.url}/readyz`);
    assert.equal(before.status, 503);
    assert.equal(JSON.parse(before.text).bootstrapped, false);
    assert.equal((await httpGet(`${server.url}/v1/snapshot`)).status, 503);
    await startGateway(ctx);
    // Ready means caught up: the moment it flips, every record produced before start is there.
    assert.ok(await ctx.hub.waitUntil(() => ctx.cache.isReady(), 30_000));
    assert.equal(ctx.cache.streams.get('totals')!.table!.size, 300);
    await ready(ctx);
    const afterReady = await httpGet(`${server.url}/readyz`);
    assert.equal(afterReady.status, 200);
    assert.equal(
      Object.keys(JSON.parse((await httpGet(`${server.url}/v1/snapshot`)).text).streams.totals.entries)
        .length,
      300,
    );
  });
});
