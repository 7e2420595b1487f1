/**
 * A stream request that must wait is never answered with a status that stops an EventSource for
 * good: with `Accept: text/event-stream` it gets `200 text/event-stream`, a jittered `retry:` and
 * a `gateway-error` event saying why, then the end of the response (or, for an unreadable stored
 * id, a resync snapshot). Plain HTTP clients, and an edge that fails over itself
 * (`X-Switchyard-Edge: failover`), keep the catalogue status.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { GatewayContext } from '../../gateway/context.ts';
import { shutdown } from '../../gateway/lifecycle.ts';
import { httpGet, openSse, type SseConnection } from '../helpers/sse-client.ts';
import { startFixture, until } from './core-fixture.ts';

const EDGE = { 'x-switchyard-edge': 'failover' };

/** Reads a wait answer to its end: its retry and its one gateway-error event. */
async function waitAnswer(conn: SseConnection): Promise<{ retry: number; code: string; reconnect: boolean }> {
  assert.equal(conn.status, 200);
  assert.equal(conn.headers['content-type'], 'text/event-stream; charset=utf-8');
  await conn.closed;
  const retry = conn.received.find((i) => i.kind === 'retry');
  const ev = conn.received.find((i) => i.kind === 'event');
  assert.ok(retry && retry.kind === 'retry', 'a retry: field');
  assert.ok(ev && ev.kind === 'event', 'an event');
  assert.equal(ev.event, 'gateway-error', 'named so that it does not reach EventSource.onerror');
  const data = JSON.parse(ev.data) as { code: string; reconnect: boolean; retryMs: number };
  assert.equal(data.retryMs, retry.ms);
  return { retry: retry.ms, code: data.code, reconnect: data.reconnect };
}

/** `switchyard_sse_wait_answers_total{reason}` now. */
async function waits(f: { ctx: GatewayContext }, reason: string): Promise<number> {
  const m = await f.ctx.metrics.sseWaitAnswers.get();
  return m.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('stream requests that must wait', () => {
  test('draining: 200 + retry + gateway-error SHUTTING_DOWN; 503 for plain clients and the edge', async (t) => {
    const f = await startFixture(t, { env: { SHUTDOWN_DRAIN_MS: '3000', RETRY_MS: '1000' } });
    // Open streams keep the drain (and the listening server) going while the requests below run.
    const open = await Promise.all(Array.from({ length: 6 }, () => openSse(`${f.url}/v1/stream`, { t })));
    for (const s of open) await s.nextEvent();
    const done = shutdown(f.ctx, f.server.server, { drainMs: 3000, retryMs: 1000 });
    const answer = await waitAnswer(await openSse(`${f.url}/v1/stream`, { t }));
    assert.equal(answer.code, 'SHUTTING_DOWN');
    assert.equal(answer.reconnect, true);
    assert.equal(await waits(f, 'shutting_down'), 1, 'counted by reason');
    assert.ok(
      answer.retry >= 500 && answer.retry < 3000,
      `retry ${answer.retry} jittered around Retry-After`,
    );
    assert.equal((await httpGet(`${f.url}/v1/stream`)).status, 503);
    const viaEdge = await httpGet(`${f.url}/v1/stream`, { accept: 'text/event-stream', ...EDGE });
    assert.equal(viaEdge.status, 503, 'the edge retries it on another instance');
    assert.equal(await waits(f, 'shutting_down'), 1, 'statuses are not wait answers');
    await done;
  });

  test('MAX_STREAMS, MAX_STREAMS_PER_IP and event-loop shedding: 200 + retry + the code', async (t) => {
    const f = await startFixture(t, { env: { MAX_STREAMS: '1', RETRY_MS: '1000' } });
    const first = await openSse(`${f.url}/v1/stream`, { t });
    await first.nextEvent();
    const full = await waitAnswer(await openSse(`${f.url}/v1/stream`, { t }));
    assert.equal(full.code, 'OVERLOADED');
    assert.ok(
      full.retry >= 1000 && full.retry < 6000,
      `retry ${full.retry} from Retry-After 2-4 s, jittered`,
    );
    assert.equal((await httpGet(`${f.url}/v1/stream`)).status, 503);
    first.close();
    await until(() => f.ctx.overload.caps.total === 0, 'slot released');

    const lag = f.ctx.overload.lag;
    Object.defineProperty(lag, 'overloaded', { configurable: true, get: () => true });
    t.after(() => Reflect.deleteProperty(lag, 'overloaded'));
    assert.equal((await waitAnswer(await openSse(`${f.url}/v1/stream`, { t }))).code, 'OVERLOADED');
    assert.equal(await waits(f, 'overloaded'), 2);
  });

  test('per-address cap: 200 + retry + TOO_MANY_STREAMS_PER_CLIENT', async (t) => {
    const f = await startFixture(t, { env: { MAX_STREAMS_PER_IP: '1' } });
    const first = await openSse(`${f.url}/v1/stream`, { t });
    await first.nextEvent();
    const answer = await waitAnswer(await openSse(`${f.url}/v1/stream`, { t }));
    assert.equal(answer.code, 'TOO_MANY_STREAMS_PER_CLIENT');
    assert.equal(await waits(f, 'too_many_streams_per_client'), 1);
    assert.equal((await httpGet(`${f.url}/v1/stream`)).status, 429);
  });

  test('an unreadable stored Last-Event-ID: a resync snapshot (reason bad_id) for a stream client', async (t) => {
    const f = await startFixture(t);
    const conn = await openSse(`${f.url}/v1/stream`, { t, headers: { 'last-event-id': 'garbage' } });
    assert.equal(conn.status, 200);
    const ev = await conn.nextEvent();
    assert.equal(ev.event, 'snapshot');
    const body = JSON.parse(ev.data) as { resync: boolean; reason: string };
    assert.deepEqual([body.resync, body.reason], [true, 'bad_id']);
    const plain = await httpGet(`${f.url}/v1/stream?lastEventId=garbage`);
    assert.equal(plain.status, 400);
  });

  test('not ready: held open for a direct client, refused 503 NOT_READY to an edge that fails over', async (t) => {
    const f = await startFixture(t, { start: false });
    const viaEdge = await httpGet(`${f.url}/v1/stream`, { accept: 'text/event-stream', ...EDGE });
    assert.equal(viaEdge.status, 503);
    assert.equal((JSON.parse(viaEdge.text) as { error: { code: string } }).error.code, 'NOT_READY');
    const held = await openSse(`${f.url}/v1/stream`, { t });
    assert.equal(held.status, 200);
    const first = await held.next();
    assert.equal(first.kind, 'retry');
  });
});
