/**
 * Shutdown: idempotent, ordered (readiness off first, new streams refused), open streams told to
 * come back later and closed spread over the drain window, source stopped. The spread is tested
 * with an injected clock (the drain schedules by ctx.now()), so no assertion depends on timing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { shutdown } from '../../gateway/lifecycle.ts';
import { httpGet, openSse, type SseConnection } from '../helpers/sse-client.ts';
import { type Fixture, startFixture, total, until } from './core-fixture.ts';

async function openClients(
  f: Fixture,
  n: number,
  t: Parameters<typeof startFixture>[0],
): Promise<SseConnection[]> {
  const conns: SseConnection[] = [];
  for (let i = 0; i < n; i++) {
    const c = await openSse(`${f.url}/v1/stream`, { t });
    assert.equal((await c.nextEvent()).event, 'snapshot');
    conns.push(c);
  }
  await until(() => f.ctx.hub.size === n, 'every client to join');
  return conns;
}

/** Counts calls of the source's stop() (a public method) while delegating to it. */
function countStops(f: Fixture): () => number {
  let stops = 0;
  const stop = f.source.stop.bind(f.source);
  f.source.stop = () => {
    stops++;
    return stop();
  };
  return () => stops;
}

/** Expects, after the client's current position: a retry hint, the shutdown event, then the end. */
async function expectFarewell(c: SseConnection, retryMs: number): Promise<void> {
  const retry = await c.waitFor((i) => i.kind === 'retry');
  assert.deepEqual(retry, { kind: 'retry', ms: retryMs });
  const ev = await c.nextEvent();
  assert.equal(ev.event, 'shutdown');
  assert.deepEqual(JSON.parse(ev.data), { code: 'SHUTTING_DOWN', reconnect: true });
  await c.closed;
}

describe('shutdown', () => {
  test('idempotent and ordered; streams closed spread over the window (injected clock)', async (t) => {
    let clock = 1_700_000_000_000;
    const f = await startFixture(t, {
      now: () => clock,
      random: () => 0.5, // retry hints exactly RETRY_MS, Retry-After exactly 2 x base
      env: { SHUTDOWN_DRAIN_MS: '20000', RETRY_MS: '4000' },
      seed: (s) => s.produce('topic.totals', [{ key: 'a', value: total(1) }]),
    });
    const stops = countStops(f);
    const clients = await openClients(f, 6, t);
    t.after(() => {
      clock += 1e9; // if an assertion failed mid-drain, let the drain timer finish
    });

    const first = shutdown(f.ctx, f.server.server, { drainMs: 20_000, retryMs: 4000 });
    const second = shutdown(f.ctx, f.server.server, { drainMs: 20_000, retryMs: 4000 });
    assert.equal(second, first, 'every caller awaits the same run');

    // 1. Readiness goes first; new streams are refused with a jittered Retry-After; polls served.
    const ready = await httpGet(`${f.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(JSON.parse(ready.text).draining, true);
    // A plain HTTP client gets the status; an EventSource a 200 stream telling it to come back.
    const refused = await httpGet(`${f.url}/v1/stream`);
    assert.equal(refused.status, 503);
    assert.equal(JSON.parse(refused.text).error.code, 'SHUTTING_DOWN');
    assert.equal(refused.headers['retry-after'], '2');
    assert.equal(refused.headers.connection, 'close');
    assert.equal((await httpGet(`${f.url}/v1/snapshot`)).status, 200);

    // 2. Streams close gradually: with the clock standing still, only the first share goes.
    // The streams' share of the window is 80 % of 20 s = 16 s for 6 streams; the drain ticks
    // every 100 ms and closes the streams due one tick ahead: ceil(6 x (elapsed + 100) / 16000).
    const closedCount = (): number => clients.filter((c) => c.isClosed).length;
    await until(() => f.ctx.hub.size === 5, 'the first stream to be closed');
    await until(() => closedCount() === 1, 'the first client to see its stream end');
    assert.equal(f.ctx.hub.size, 5, 'the clock stands still: nothing else is due');
    clock += 7000; // 7.1 s of 16 s: 3 due
    await until(() => f.ctx.hub.size <= 3, 'half of the streams');
    assert.equal(f.ctx.hub.size, 3, 'no more than the share due at this point of the window');
    clock += 9000;
    await until(() => f.ctx.hub.size === 0, 'every stream');
    for (const c of clients) await expectFarewell(c, 4000);

    await first;
    assert.equal(stops(), 1, 'the source was stopped once');
    assert.equal(f.server.server.listening, false, 'no longer accepting connections');
    const position = f.ctx.cache.streams.get('totals')!.position;
    f.source.produce('topic.totals', [{ key: 'b', value: total(2) }]);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assert.equal(f.ctx.cache.streams.get('totals')!.position, position, 'nothing is applied after stop');
    await shutdown(f.ctx, f.server.server, { drainMs: 20_000, retryMs: 4000 });
    assert.equal(stops(), 1, 'a later call does not run it again');
  });

  test('a small real window: every stream gets the farewell, closes are spread, shutdown resolves', async (t) => {
    const f = await startFixture(t, { random: () => 0.5, env: { RETRY_MS: '1000' } });
    const clients = await openClients(f, 5, t);
    const closedAt: number[] = [];
    for (const c of clients) void c.closed.then(() => closedAt.push(performance.now()));
    await shutdown(f.ctx, f.server.server, { drainMs: 400, retryMs: 1000 });
    for (const c of clients) await expectFarewell(c, 1000);
    assert.equal(closedAt.length, 5);
    // Loosely: the closes did not all happen at once (they follow one another over the window).
    const sorted = [...closedAt].sort((a, b) => a - b);
    assert.ok(sorted.at(-1)! > sorted[0]!, 'closes are spread');
    assert.equal(f.ctx.hub.size, 0);
  });

  test('with no open streams and a zero window it completes and stops the source', async (t) => {
    const f = await startFixture(t);
    const stops = countStops(f);
    await shutdown(f.ctx, f.server.server, { drainMs: 0, retryMs: 1000 });
    assert.equal(stops(), 1);
    assert.equal(f.ctx.state.draining, true);
  });
});
