/**
 * Admission control, stale marking and the drain, end to end over HTTP on an in-process gateway
 * (MemorySource): caps answer 503/429 with a jittered Retry-After and free their slots on close;
 * event-loop shedding refuses new streams and polls but not health checks; a stale source is
 * announced with `status` events and a poll header; a shutdown keeps answering while it drains.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { shutdown } from '../../gateway/lifecycle.ts';
import { httpGet, openSse } from '../helpers/sse-client.ts';
import { startFixture, total, until } from './core-fixture.ts';

/** Opens a stream from a given loopback address (127.0.0.x): distinct client addresses. */
function streamFrom(url: string, localAddress: string): Promise<{ status: number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/v1/stream`,
      { localAddress, headers: { accept: 'text/event-stream' } },
      (res) => {
        resolve({ status: res.statusCode ?? 0, close: () => req.destroy() });
        res.resume();
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('admission control', () => {
  test('MAX_STREAMS: the next stream gets 503 OVERLOADED with a jittered Retry-After', async (t) => {
    const f = await startFixture(t, { env: { MAX_STREAMS: '2' } });
    const a = await openSse(`${f.url}/v1/stream`, { t });
    const b = await openSse(`${f.url}/v1/stream`, { t });
    assert.equal(a.status, 200);
    assert.equal(b.status, 200);
    const refused = await httpGet(`${f.url}/v1/stream`);
    assert.equal(refused.status, 503);
    const body = JSON.parse(refused.text) as { error: { code: string; reason: string } };
    assert.equal(body.error.code, 'OVERLOADED');
    assert.equal(body.error.reason, 'max_streams');
    const retryAfter = Number(refused.headers['retry-after']);
    assert.ok(retryAfter >= 2 && retryAfter <= 4, `Retry-After ${retryAfter} in [2, 4]`);
    // A closed stream frees its slot.
    a.close();
    await until(() => f.ctx.overload.caps.total === 1, 'slot released');
    const c = await openSse(`${f.url}/v1/stream`, { t });
    assert.equal(c.status, 200);
  });

  test('MAX_STREAMS_PER_IP: 429 for that address while another address still connects', async (t) => {
    const f = await startFixture(t, { env: { MAX_STREAMS_PER_IP: '1' } });
    const first = await streamFrom(f.url, '127.0.0.1');
    t.after(first.close);
    assert.equal(first.status, 200);
    const refused = await httpGet(`${f.url}/v1/stream`);
    assert.equal(refused.status, 429);
    assert.equal(
      (JSON.parse(refused.text) as { error: { code: string } }).error.code,
      'TOO_MANY_STREAMS_PER_CLIENT',
    );
    assert.ok(Number(refused.headers['retry-after']) >= 5);
    const other = await streamFrom(f.url, '127.0.0.2');
    t.after(other.close);
    assert.equal(other.status, 200, 'another address is not affected');
    first.close();
    await until(() => f.ctx.overload.caps.addresses === 1, 'address forgotten');
  });

  test('invalid requests never count against the caps', async (t) => {
    const f = await startFixture(t, { env: { MAX_STREAMS: '1' } });
    for (let i = 0; i < 3; i++) assert.equal((await httpGet(`${f.url}/v1/stream?streams=nope`)).status, 400);
    assert.equal(f.ctx.overload.caps.total, 0);
  });

  test('a lagging event loop sheds new streams and polls, not health checks or open streams', async (t) => {
    const f = await startFixture(t);
    const open = await openSse(`${f.url}/v1/stream`, { t });
    await open.nextEvent();
    const lag = f.ctx.overload.lag;
    Object.defineProperty(lag, 'overloaded', { configurable: true, get: () => true });
    const stream = await httpGet(`${f.url}/v1/stream`);
    assert.equal(stream.status, 503);
    assert.equal((JSON.parse(stream.text) as { error: { reason: string } }).error.reason, 'event_loop');
    const poll = await httpGet(`${f.url}/v1/snapshot`);
    assert.equal(poll.status, 503);
    assert.ok(Number(poll.headers['retry-after']) >= 2);
    assert.equal((await httpGet(`${f.url}/readyz`)).status, 200);
    assert.equal((await httpGet(`${f.url}/healthz`)).status, 200);
    // The stream already open keeps flowing.
    f.source.produce('topic.totals', [{ key: 'FR', value: total(1) }]);
    const ev = await open.nextEvent();
    assert.equal(ev.event, 'update');
    Reflect.deleteProperty(lag, 'overloaded');
    assert.equal((await httpGet(`${f.url}/v1/snapshot`)).status, 200, 'served again once the lag is gone');
    const metrics = (await httpGet(`${f.url}/metrics`)).text;
    assert.match(metrics, /switchyard_overload_rejections_total\{reason="event_loop",endpoint="stream"\} 1/);
    assert.match(
      metrics,
      /switchyard_overload_rejections_total\{reason="event_loop",endpoint="snapshot"\} 1/,
    );
  });
});

describe('stale marking', () => {
  test('streams get status events on going stale and fresh; polls carry X-Switchyard-Stale', async (t) => {
    let now = 1_000_000;
    const f = await startFixture(t, { now: () => now, env: { STALE_AFTER_MS: '1000' } });
    const s = await openSse(`${f.url}/v1/stream`, { t });
    await s.nextEvent();
    f.source.setConnected(false);
    now += 5000;
    const stale = await s.waitFor((i) => i.kind === 'event' && i.event === 'status');
    assert.ok(stale.kind === 'event');
    const body = JSON.parse(stale.data) as { stale: boolean; staleMs: number };
    assert.equal(body.stale, true);
    assert.ok(body.staleMs >= 5000);
    assert.equal(stale.id, undefined, 'a status event does not move the resume point');
    const poll = await httpGet(`${f.url}/v1/snapshot`);
    assert.equal(poll.status, 200, 'the last state is still served');
    assert.equal(poll.headers['x-switchyard-stale'], '5000');
    const ready = await httpGet(`${f.url}/readyz`);
    assert.equal(ready.status, 200, 'readiness does not depend on freshness');
    assert.equal((JSON.parse(ready.text) as { stale: boolean }).stale, true);
    // A stream opened while stale learns it with its snapshot.
    const late = await openSse(`${f.url}/v1/stream`, { t });
    assert.equal((await late.nextEvent()).event, 'snapshot');
    const lateStatus = await late.nextEvent();
    assert.equal(lateStatus.event, 'status');
    f.source.setConnected(true);
    const fresh = await s.waitFor((i) => i.kind === 'event' && i.event === 'status');
    assert.ok(fresh.kind === 'event');
    assert.equal((JSON.parse(fresh.data) as { stale: boolean }).stale, false);
    assert.equal((await httpGet(`${f.url}/v1/snapshot`)).headers['x-switchyard-stale'], undefined);
  });
});

describe('shutdown drain', () => {
  test('keeps answering while it drains: readyz 503, new streams 503, polls 200 with Connection: close', async (t) => {
    const f = await startFixture(t, { env: { SHUTDOWN_DRAIN_MS: '1500', RETRY_MS: '1000' } });
    const streams = await Promise.all(Array.from({ length: 6 }, () => openSse(`${f.url}/v1/stream`, { t })));
    for (const s of streams) await s.nextEvent();
    const started = Date.now();
    const done = shutdown(f.ctx, f.server.server, { drainMs: 1500, retryMs: 1000 });
    const ready = await httpGet(`${f.url}/readyz`);
    assert.equal(ready.status, 503);
    const refused = await httpGet(`${f.url}/v1/stream`);
    assert.equal(refused.status, 503);
    assert.equal((JSON.parse(refused.text) as { error: { code: string } }).error.code, 'SHUTTING_DOWN');
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    const poll = await httpGet(`${f.url}/v1/snapshot`);
    assert.equal(poll.status, 200, 'polls are still served while streams drain');
    assert.equal(poll.headers.connection, 'close', 'proxies stop reusing the connection');
    await done;
    const tookMs = Date.now() - started;
    assert.ok(tookMs <= 1500 + 500, `finished within the window (${tookMs} ms)`);
    for (const s of streams) {
      await s.closed;
      const farewell = s.received.find((i) => i.kind === 'event' && i.event === 'shutdown');
      assert.ok(farewell, 'every stream was told to come back');
      const retries = s.received.filter((i) => i.kind === 'retry');
      const last = retries.at(-1);
      assert.ok(last && last.kind === 'retry' && last.ms >= 500 && last.ms < 1500, 'with a jittered retry');
    }
    assert.equal(f.server.server.listening, false, 'the listener is closed at the end');
  });
});
