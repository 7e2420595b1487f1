/**
 * The node:http front door (gateway/http/front-door.ts): `/v1/stream` and `/v1/snapshot` are
 * served without express, with the same checks, headers, errors and metrics as every other
 * route. Behaviour of the routes themselves is covered by the core-* and security-* suites,
 * which go through the front door too; this file pins what the front door adds or must keep.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import express from 'express';
import type { SecurityConfig } from '../../gateway/config/security-config.ts';
import { GatewayError } from '../../gateway/errors.ts';
import type { Interceptor } from '../../gateway/http/pipeline.ts';
import { compileTrust, RequestViews } from '../../gateway/http/request-view.ts';
import type { Subscriber } from '../../gateway/sse/subscriber.ts';
import { openSse } from '../helpers/sse-client.ts';
import { send, startSecureGateway } from './security-fixture.ts';

const ORIGIN = 'https://app.example.com';
const OPEN = { RATE_LIMIT_PER_SECOND: '0' };

function onlySubscriber(subs: Iterable<Subscriber>): Subscriber {
  const all = [...subs];
  assert.equal(all.length, 1, 'exactly one open stream');
  return all[0]!;
}

describe('front door', () => {
  test('streams and polls keep node:http objects: express never re-parents them', async (t) => {
    const g = await startSecureGateway(t, { env: OPEN });
    const conn = await openSse(`${g.url}/v1/stream`, { t });
    assert.equal(conn.status, 200);
    await conn.waitFor((i) => i.kind === 'event' && i.event === 'snapshot');
    const sub = onlySubscriber(g.ctx.hub.subscribers());
    // Express sets its own prototypes on everything it handles (3.7 KB of heap per open stream).
    assert.equal(Object.getPrototypeOf(sub.res), ServerResponse.prototype);
    assert.equal(Object.getPrototypeOf(sub.res.req), IncomingMessage.prototype);
    assert.equal('app' in sub.res.req, false, 'no express request properties');
  });

  test('paths have one spelling, as the edge matches them: other cases and a trailing slash are 404', async (t) => {
    const g = await startSecureGateway(t, { env: OPEN });
    for (const path of ['/v1/snapshot', '/v1/snapshot?streams=orders']) {
      const r = await send(`${g.url}${path}`);
      assert.equal(r.status, 200, path);
      assert.equal(typeof r.json?.position, 'string', path);
    }
    const s = await send(`${g.url}/v1/stream`, { headersOnly: true });
    assert.equal(s.status, 200);
    assert.match(String(s.headers['content-type']), /^text\/event-stream/);
    for (const path of ['/V1/Snapshot', '/v1/snapshot/', '/v1/STREAM/', '/v1/stream/', '/V1/stream']) {
      const r = await send(`${g.url}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(r.json?.error?.code, 'NOT_FOUND', path);
    }
    // Not the hot paths: express answers, with the catalogue's 404.
    for (const path of ['/v1/snapshots', '/v1/stream/x', '/v1//snapshot']) {
      const r = await send(`${g.url}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(r.json?.error?.code, 'NOT_FOUND', path);
    }
    // Other methods on the hot paths: 405 with the methods they serve (preflight below).
    const post = await send(`${g.url}/v1/snapshot`, { method: 'POST', body: '{}' });
    assert.equal(post.status, 405);
    assert.equal(post.json?.error?.code, 'METHOD_NOT_ALLOWED');
    assert.equal(post.headers.allow, 'GET, HEAD');
    // HEAD is a GET without a body, ETag included.
    const head = await send(`${g.url}/v1/snapshot`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    assert.match(String(head.headers.etag), /^W\//);
  });

  test('answers carry the same security and CORS headers as the express routes', async (t) => {
    const g = await startSecureGateway(t, { env: { ...OPEN, CORS_ORIGINS: ORIGIN } });
    const headers = { origin: ORIGIN };
    const fast = await send(`${g.url}/v1/snapshot`, { headers });
    const fastError = await send(`${g.url}/v1/snapshot?streams=nope`, { headers });
    const stream = await send(`${g.url}/v1/stream`, { headers, headersOnly: true });
    const viaExpress = await send(`${g.url}/v1/stats/latency`, { headers });
    assert.equal(fast.status, 200);
    assert.equal(fastError.status, 400);
    assert.equal(fastError.json?.error?.code, 'UNKNOWN_STREAM');
    assert.equal(stream.status, 200);
    assert.equal(viaExpress.status, 200);
    for (const [name, r] of Object.entries({ fast, fastError, stream, viaExpress })) {
      assert.equal(r.headers['x-content-type-options'], 'nosniff', name);
      assert.equal(r.headers['referrer-policy'], 'no-referrer', name);
      assert.equal(r.headers['access-control-allow-origin'], ORIGIN, name);
      assert.equal(r.headers['access-control-allow-credentials'], 'true', name);
      assert.match(String(r.headers['access-control-expose-headers']), /ETag/, name);
      assert.match(String(r.headers.vary), /Origin/, name);
      assert.equal(r.headers['x-powered-by'], undefined, name);
    }
    assert.equal(fast.headers.vary, 'Origin, Accept-Encoding');
    // A foreign origin gets no CORS grant; an allowed origin's preflight is answered 204.
    const foreign = await send(`${g.url}/v1/snapshot`, { headers: { origin: 'https://evil.example' } });
    assert.equal(foreign.status, 200);
    assert.equal(foreign.headers['access-control-allow-origin'], undefined);
    const preflight = await send(`${g.url}/v1/stream`, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'GET' },
    });
    assert.equal(preflight.status, 204);
  });

  test('limits apply in the same order: 414 before anything, 429 for polls only', async (t) => {
    const g = await startSecureGateway(t, {
      env: { MAX_URL_LENGTH: '256', RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '2' },
    });
    const long = await send(`${g.url}/v1/stream?streams=${'x'.repeat(300)}`);
    assert.equal(long.status, 414);
    assert.equal(long.json?.error?.code, 'URI_TOO_LONG');
    const polls = [];
    for (let i = 0; i < 4; i++) polls.push((await send(`${g.url}/v1/snapshot`)).status);
    assert.deepEqual(polls.slice(0, 2), [200, 200]);
    assert.equal(polls[3], 429);
    // Streams are bounded by the stream caps, not the request rate (they share no bucket).
    const s = await send(`${g.url}/v1/stream`, { headersOnly: true });
    assert.equal(s.status, 200);
  });

  test('a stream hands its cap back when it ends, however it ends', async (t) => {
    const g = await startSecureGateway(t, { env: { ...OPEN, MAX_STREAMS: '1' } });
    const caps = g.ctx.overload.caps;
    for (let round = 0; round < 3; round++) {
      const conn = await openSse(`${g.url}/v1/stream`, { t });
      assert.equal(conn.status, 200, `round ${round}`);
      await conn.waitFor((i) => i.kind === 'event' && i.event === 'snapshot');
      assert.equal(caps.total, 1);
      const refused = await send(`${g.url}/v1/stream`);
      assert.equal(refused.status, 503);
      assert.equal(refused.json?.error?.code, 'OVERLOADED');
      const sub = onlySubscriber(g.ctx.hub.subscribers());
      const closed = once(sub.res, 'close');
      if (round === 0) conn.close();
      else if (round === 1) sub.fail('SLOW_CONSUMER', 'test');
      else sub.res.destroy();
      await closed;
      assert.equal(caps.total, 0, `round ${round}`);
      assert.equal(g.ctx.hub.size, 0, `round ${round}`);
    }
  });

  test('an unexpected failure is a logged 500 before the headers, a cut stream after', async (t) => {
    const g = await startSecureGateway(t, { env: OPEN });
    const bodies = g.ctx.bodies as { get: unknown };
    const realGet = bodies.get;
    bodies.get = () => {
      throw new Error('boom /secret/path.ts:12');
    };
    const r = await send(`${g.url}/v1/snapshot`);
    bodies.get = realGet;
    assert.equal(r.status, 500);
    assert.equal(r.json?.error?.code, 'INTERNAL');
    assert.doesNotMatch(r.text, /boom|secret/);
    assert.ok(g.logs.some((l) => l.includes('unhandled error') && l.includes('boom')));

    const rollout = g.ctx.rollout as { streamOpened: unknown };
    rollout.streamOpened = () => {
      throw new Error('late boom');
    };
    const conn = await openSse(`${g.url}/v1/stream`, { t });
    assert.equal(conn.status, 200);
    await conn.closed;
    assert.equal(g.ctx.overload.caps.total, 0);
    assert.ok(g.logs.some((l) => l.includes('late boom')));
  });

  test('responses are counted by endpoint and status, bytes included', async (t) => {
    const g = await startSecureGateway(t, { env: OPEN });
    const ok = await send(`${g.url}/v1/snapshot`);
    await send(`${g.url}/v1/snapshot`, { headers: { 'if-none-match': String(ok.headers.etag) } });
    await send(`${g.url}/v1/snapshot?streams=nope`);
    const conn = await openSse(`${g.url}/v1/stream`, { t });
    await conn.waitFor((i) => i.kind === 'event' && i.event === 'snapshot');
    const streamBytes = (text: string): number =>
      Number(/switchyard_http_response_bytes_total\{endpoint="stream"\} (\d+)/.exec(text)?.[1] ?? 0);
    // An open stream's bytes are brought up to date at each scrape, not only when it ends.
    const whileOpen = streamBytes(await g.ctx.metrics.render());
    assert.ok(whileOpen > 100, `open stream bytes counted (${whileOpen})`);
    assert.doesNotMatch(await g.ctx.metrics.render(), /endpoint="stream",status=/, 'no request counted yet');
    const sub = onlySubscriber(g.ctx.hub.subscribers());
    const closed = once(sub.res, 'close');
    conn.close();
    await closed;
    const text = await g.ctx.metrics.render();
    const count = (endpoint: string, status: string): number => {
      const re = new RegExp(
        `switchyard_http_requests_total\\{endpoint="${endpoint}",status="${status}"\\} (\\d+)`,
      );
      return Number(re.exec(text)?.[1] ?? 0);
    };
    assert.equal(count('snapshot', '200'), 1);
    assert.equal(count('snapshot', '304'), 1);
    assert.equal(count('snapshot', '400'), 1);
    assert.equal(count('stream', '200'), 1);
    assert.ok(streamBytes(text) >= whileOpen, 'stream bytes never go back');
  });
});

describe('front door: wire details', () => {
  test('pipelined polls are each answered and counted, bytes exactly', async (t) => {
    const g = await startSecureGateway(t, { env: OPEN });
    const sock = connect(g.port, '127.0.0.1');
    await once(sock, 'connect');
    t.after(() => sock.destroy());
    let received = 0;
    let text = '';
    sock.on('data', (b: Buffer) => {
      received += b.length;
      text += b.toString('latin1');
    });
    const get = 'GET /v1/snapshot HTTP/1.1\r\nHost: x\r\n\r\n';
    // Three requests in one write: the 2nd and 3rd responses wait for the 1st (not on the socket yet).
    sock.write(get + get + get);
    while ((text.match(/HTTP\/1\.1 200/g) ?? []).length < 3 || !text.endsWith('}')) await once(sock, 'data');
    sock.end();
    await once(sock, 'close');
    const metrics = await g.ctx.metrics.render();
    assert.match(metrics, /switchyard_http_requests_total\{endpoint="snapshot",status="200"\} 3\n/);
    const bytes = Number(
      /switchyard_http_response_bytes_total\{endpoint="snapshot"\} (\d+)/.exec(metrics)?.[1],
    );
    assert.equal(bytes, received);
  });

  test('the client address follows TRUST_PROXY exactly as express computes req.ip', async (t) => {
    const cases: Array<[SecurityConfig['trustProxy'], string | undefined]> = [];
    for (const trust of [false, 1, 2, ['loopback'], ['10.0.0.0/8'], ['127.0.0.1', '10.1.2.3']] as const)
      for (const xff of [undefined, '203.0.113.9', '203.0.113.9, 10.1.2.3', 'garbage, 10.9.9.9', ''])
        cases.push([trust as SecurityConfig['trustProxy'], xff]);
    for (const [trust, xff] of cases) {
      const app = express();
      app.set('trust proxy', trust === false ? false : Array.isArray(trust) ? [...trust] : trust);
      const views = new RequestViews(compileTrust(trust));
      const server = createServer((req, res) => {
        const ours = views.of(req, -1).ip;
        app(req as express.Request, res as express.Response, () => undefined);
        res.end(JSON.stringify({ ours, express: (req as express.Request).ip }));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      t.after(() => server.close());
      const port = (server.address() as { port: number }).port;
      const r = await send(`http://127.0.0.1:${port}/`, {
        headers: xff === undefined ? {} : { 'x-forwarded-for': xff },
      });
      assert.equal(r.json.ours, r.json.express, `trust ${JSON.stringify(trust)} xff ${xff}`);
      server.close();
    }
  });

  test('parsed queries are shared per text, frozen, and bounded', () => {
    const views = new RequestViews(null, 4);
    const req = (url: string) =>
      ({ url, method: 'GET', headers: {}, socket: { remoteAddress: '127.0.0.1' } }) as never;
    const a = views.of(req('/v1/snapshot?streams=orders'), 12).query;
    const b = views.of(req('/v1/snapshot?streams=orders'), 12).query;
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
    assert.deepEqual({ ...a }, { streams: 'orders' });
    assert.deepEqual(
      { ...views.of(req('/v1/snapshot?streams=a&streams=b'), 12).query },
      { streams: ['a', 'b'] },
    );
    for (let i = 0; i < 10; i++) views.of(req(`/v1/snapshot?x=${i}`), 12);
    assert.equal((views as unknown as { queries: Map<string, unknown> }).queries.size <= 4, true);
    const long = `/v1/snapshot?access_token=${'t'.repeat(300)}`;
    assert.notEqual(views.of(req(long), 12).query, views.of(req(long), 12).query, 'long texts not kept');
  });
});

describe('one request pipeline (gateway/http/pipeline.ts)', () => {
  /** A check of the kind the pipeline is made of: reads the request, adds a header, may refuse. */
  const probe: Interceptor = (next) => (ex) => {
    if (ex.req.headers['x-refuse'] !== undefined) throw new GatewayError('FORBIDDEN', 'refused by the probe');
    ex.headers = [...ex.headers, 'X-Probe', ex.endpoint];
    next(ex);
  };

  test('a check added to the pipeline applies to front-door and express routes alike', async (t) => {
    const g = await startSecureGateway(t, { env: OPEN, interceptors: [probe] });
    const poll = await send(`${g.url}/v1/snapshot`);
    const stream = await send(`${g.url}/v1/stream`, { headersOnly: true });
    const health = await send(`${g.url}/healthz`);
    const stats = await send(`${g.url}/v1/stats/latency`);
    const missing = await send(`${g.url}/nowhere`);
    for (const [name, r, endpoint, status] of [
      ['poll', poll, 'snapshot', 200],
      ['stream', stream, 'stream', 200],
      ['health', health, 'health', 200],
      ['stats', stats, 'stats', 200],
      ['404', missing, 'other', 404],
    ] as const) {
      assert.equal(r.status, status, name);
      assert.equal(r.headers['x-probe'], endpoint, name);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', name);
    }
    // Refused by the check: the same catalogue answer through the same error path, counted.
    for (const path of ['/v1/snapshot', '/v1/stream', '/metrics']) {
      const r = await send(`${g.url}${path}`, { headers: { 'x-refuse': '1' } });
      assert.equal(r.status, 403, path);
      assert.equal(r.json?.error?.code, 'FORBIDDEN', path);
      assert.equal(r.json?.error?.message, 'refused by the probe', path);
      assert.equal(r.headers['referrer-policy'], 'no-referrer', path);
    }
    const text = await g.ctx.metrics.render();
    for (const endpoint of ['snapshot', 'stream', 'metrics'])
      assert.match(
        text,
        new RegExp(`switchyard_http_requests_total\\{endpoint="${endpoint}",status="403"\\} 1\\n`),
      );
  });

  test('a wrong method on a front-door path is 405 with Allow, limited and counted like any request', async (t) => {
    const g = await startSecureGateway(t, {
      env: { RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1', CORS_ORIGINS: ORIGIN },
    });
    const post = await send(`${g.url}/v1/stream`, {
      method: 'POST',
      body: '{}',
      headers: { origin: ORIGIN, accept: 'text/event-stream' },
    });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal(post.json?.error?.code, 'METHOD_NOT_ALLOWED');
    assert.deepEqual(post.json?.error?.allow, ['GET', 'HEAD']);
    assert.equal(post.headers['access-control-allow-origin'], ORIGIN);
    // Only stream connects are exempt from the request rate limit, not other methods on the path.
    const again = await send(`${g.url}/v1/stream`, { method: 'DELETE' });
    assert.equal(again.status, 429);
    assert.equal(again.json?.error?.code, 'RATE_LIMITED');
    const stream = await send(`${g.url}/v1/stream`, { headersOnly: true });
    assert.equal(stream.status, 200);
    const text = await g.ctx.metrics.render();
    assert.match(text, /switchyard_http_requests_total\{endpoint="stream",status="405"\} 1\n/);
    assert.match(text, /switchyard_http_requests_total\{endpoint="stream",status="429"\} 1\n/);
  });

  test('a request pipelined behind a stream on a raw socket still meets the connection guard', async (t) => {
    const g = await startSecureGateway(t, { env: OPEN });
    const sock = connect(g.port, '127.0.0.1');
    await once(sock, 'connect');
    t.after(() => sock.destroy());
    let text = '';
    sock.on('data', (b: Buffer) => {
      text += b.toString('latin1');
    });
    const closed = once(sock, 'close');
    sock.write(
      'GET /v1/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n' +
        'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    await closed;
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.doesNotMatch(text, /"status":"ok"/, 'the request behind the stream is never answered');
    const metrics = await g.ctx.metrics.render();
    assert.match(metrics, /switchyard_connections_closed_total\{reason="pipelined_behind_stream"\} 1\n/);
    // The stream went with its connection.
    while (g.ctx.hub.size > 0) await once(g.ctx.hub.subscribers().next().value!.res, 'close');
    assert.equal(g.ctx.overload.caps.total, 0);
  });
});
