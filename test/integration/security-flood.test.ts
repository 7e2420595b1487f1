/**
 * Floods from one address over real sockets, with clients bound to distinct loopback addresses
 * (127.0.0.2 floods, 127.0.0.3 is a bystander): past its open-stream cap (gateway/overload,
 * MAX_STREAMS_PER_IP) or its request rate (RATE_LIMIT_*) the flooder gets 429s with Retry-After,
 * while the other address still connects and streams; the process-wide cap answers 503.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type IncomingMessage, request } from 'node:http';
import { describe, test } from 'node:test';
import { SseConnection as Conn, type SseConnection, type Teardown } from '../helpers/sse-client.ts';
import { until } from '../unit/core-fixture.ts';
import { send, startSecureGateway } from '../unit/security-fixture.ts';

const FLOODER = '127.0.0.2';
const BYSTANDER = '127.0.0.3';

/** Opens a stream from `localAddress`; resolves once the headers are in (200 or a refusal). */
async function openFrom(url: string, localAddress: string, t: Teardown): Promise<SseConnection> {
  const req = request(url, { localAddress, agent: false, headers: { accept: 'text/event-stream' } });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  const conn = new Conn(res, `SSE from ${localAddress}`);
  t.after(() => conn.close());
  return conn;
}

/**
 * A refused stream request as an EventSource sees it (docs/errors.md): 200 text/event-stream, a
 * `retry:` and one `gateway-error` event with the catalogue code, then the end of the response
 * (a non-200 would stop an EventSource for good). `retryMs` is the `retry:` field.
 */
async function refusal(conn: SseConnection): Promise<{ code: string; retryMs: number }> {
  await conn.closed;
  assert.match(String(conn.headers['content-type']), /^text\/event-stream/);
  const data = /^event: gateway-error\ndata: (.*)$/m.exec(conn.raw);
  assert.ok(data, `a gateway-error event in ${JSON.stringify(conn.raw.slice(0, 200))}`);
  const retry = /^retry: (\d+)$/m.exec(conn.raw);
  return { code: JSON.parse(data[1]!).code, retryMs: Number(retry?.[1] ?? Number.NaN) };
}

describe('floods from one address', { timeout: 120_000 }, () => {
  test('past MAX_STREAMS_PER_IP one address is told to retry (TOO_MANY_STREAMS_PER_CLIENT) while another still connects', async (t) => {
    const g = await startSecureGateway(t, { env: { MAX_STREAMS_PER_IP: '3', MAX_STREAMS: '1000' } });
    const url = `${g.url}/v1/stream`;
    const held: SseConnection[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await openFrom(url, FLOODER, t);
      assert.equal(c.status, 200);
      assert.equal((await c.nextEvent()).event, 'snapshot');
      held.push(c);
    }
    const refused = await Promise.all(Array.from({ length: 20 }, () => openFrom(url, FLOODER, t)));
    for (const c of refused) {
      assert.equal(c.status, 200, 'a refused EventSource is told to retry, not failed for good');
      const r = await refusal(c);
      assert.equal(r.code, 'TOO_MANY_STREAMS_PER_CLIENT');
      assert.ok(r.retryMs >= 500, 'with a retry: hint');
    }
    // The bystander is not affected by the flooder's cap.
    const other = await openFrom(url, BYSTANDER, t);
    assert.equal(other.status, 200);
    assert.equal((await other.nextEvent()).event, 'snapshot');
    g.source.produce('topic.totals', [{ key: 'fr', value: '{"n":1}' }]);
    assert.equal((await other.nextEvent()).event, 'update');
    assert.equal((await held[0]!.nextEvent()).event, 'update', 'admitted streams keep flowing');
    // A closed stream frees its slot.
    held[0]!.close();
    await held[0]!.closed;
    await until(() => g.ctx.hub.size === 3, 'the closed stream leaves the hub');
    const again = await openFrom(url, FLOODER, t);
    assert.equal(again.status, 200);
  });

  test('past MAX_STREAMS every new stream is told to retry (OVERLOADED); open ones keep going', async (t) => {
    const g = await startSecureGateway(t, { env: { MAX_STREAMS: '4', MAX_STREAMS_PER_IP: '0' } });
    const url = `${g.url}/v1/stream`;
    const open: SseConnection[] = [];
    for (const addr of [FLOODER, FLOODER, BYSTANDER, BYSTANDER]) {
      const c = await openFrom(url, addr, t);
      assert.equal(c.status, 200);
      open.push(c);
    }
    for (const addr of [FLOODER, BYSTANDER, '127.0.0.4']) {
      const c = await openFrom(url, addr, t);
      assert.equal(c.status, 200, 'a refused EventSource is told to retry, not failed for good');
      const r = await refusal(c);
      assert.equal(r.code, 'OVERLOADED');
      assert.ok(r.retryMs >= 500, 'with a retry: hint');
    }
    await open[3]!.nextEvent();
    g.source.produce('topic.totals', [{ key: 'de', value: '{"n":2}' }]);
    const ev = await open[3]!.waitFor((i) => i.kind === 'event' && i.event === 'update');
    assert.equal(ev.kind, 'event');
  });

  test('a polling flood from one address is cut to its rate (429 + Retry-After); others poll on', async (t) => {
    const g = await startSecureGateway(t, {
      now: () => 1_700_000_000_000,
      env: { RATE_LIMIT_PER_SECOND: '5', RATE_LIMIT_BURST: '10' },
    });
    const flood = await Promise.all(
      Array.from({ length: 60 }, () => send(`${g.url}/v1/snapshot`, { localAddress: FLOODER })),
    );
    const ok = flood.filter((r) => r.status === 200).length;
    const limited = flood.filter((r) => r.status === 429);
    assert.equal(ok, 10, 'exactly the burst gets through with the clock frozen');
    assert.equal(limited.length, 50);
    for (const r of limited) {
      assert.equal(r.json.error.code, 'RATE_LIMITED');
      assert.ok(Number(r.headers['retry-after']) >= 1);
    }
    const bystander = await send(`${g.url}/v1/snapshot`, { localAddress: BYSTANDER });
    assert.equal(bystander.status, 200);
    const stream = await openFrom(`${g.url}/v1/stream`, FLOODER, t);
    assert.equal(stream.status, 200, 'streams are governed by the stream caps, not the request rate');
  });
});
