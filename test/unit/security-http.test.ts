/**
 * Hostile HTTP input against the real app, served as main.ts serves it: admin auth, error bodies
 * (no stack, no path), URL and header limits, malformed requests, the per-IP request rate limit,
 * and the security headers of API responses and HTML pages.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { describe, test } from 'node:test';
import express from 'express';
import { ERROR_CATALOGUE } from '../../gateway/errors.ts';
import { hardenServer } from '../../gateway/security/request-limits.ts';
import { ADMIN, ADMIN_READ, type Reply, send, startSecureGateway } from './security-fixture.ts';

const NOW = 1_700_000_000_000;

/** A catalogue error body: only `code`, `message` and documented details, never a stack or a path. */
function assertCatalogueError(r: Reply, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.match(String(r.headers['content-type']), /^application\/json/);
  assert.equal(r.json?.error?.code, code, r.text);
  assert.equal(ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status, status);
  assert.doesNotMatch(
    r.text,
    /\bat [\w.<>]+ \(|node:internal|\/work\/|node_modules|\.ts:\d+/,
    'no stack or path',
  );
}

describe('admin endpoints', () => {
  const env = { ADMIN_TOKEN: ADMIN, ADMIN_READ_TOKEN: ADMIN_READ, RATE_LIMIT_PER_SECOND: '0' };
  /** Every admin endpoint: its read path and, when it has one, its write path. */
  const endpoints = [
    { read: '/v1/admin/rollout', write: '/v1/admin/rollout' },
    { read: '/v1/admin/routes', write: '/v1/admin/routes/some-route' },
    { read: '/v1/admin/shadow', write: null },
    { read: '/v1/admin/contracts', write: null },
  ];

  test('without ADMIN_TOKEN the admin API is closed to everyone (401)', async (t) => {
    const g = await startSecureGateway(t, { env: { RATE_LIMIT_PER_SECOND: '0' } });
    for (const { read } of endpoints) {
      assertCatalogueError(await send(g.url + read), 401, 'UNAUTHORIZED');
      assertCatalogueError(
        await send(g.url + read, { headers: { authorization: `Bearer ${ADMIN}` } }),
        401,
        'UNAUTHORIZED',
      );
    }
  });

  test('401 without a valid bearer token, 403 for the read token on a write, 2xx in scope', async (t) => {
    const g = await startSecureGateway(t, { env });
    for (const { read, write } of endpoints) {
      for (const authorization of [
        undefined,
        '',
        'Bearer',
        'Bearer ',
        `Bearer ${ADMIN}x`,
        `Bearer ${ADMIN.slice(0, -1)}`,
        `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}`,
        `Bearer ${ADMIN} extra`,
        `Bearer ${'a'.repeat(600)}`,
        ADMIN,
      ]) {
        const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
        assertCatalogueError(await send(g.url + read, { headers }), 401, 'UNAUTHORIZED');
        if (write === null) continue;
        const put = await send(g.url + write, {
          method: 'PUT',
          headers: { ...headers, 'content-type': 'application/json' },
          body: '{}',
        });
        assertCatalogueError(put, 401, 'UNAUTHORIZED');
      }
      const byReader = await send(g.url + read, { headers: { authorization: `Bearer ${ADMIN_READ}` } });
      assert.equal(byReader.status, 200, byReader.text);
      const byWriter = await send(g.url + read, { headers: { authorization: `bearer ${ADMIN}` } });
      assert.equal(byWriter.status, 200, byWriter.text);
      if (write === null) continue;
      const forbidden = await send(g.url + write, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_READ}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assertCatalogueError(forbidden, 403, 'FORBIDDEN');
      // The write token gets past auth: whatever the body's verdict, it is not an auth error.
      const allowed = await send(g.url + write, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
        body: '{"nonsense":true}',
      });
      assert.ok(![401, 403, 500].includes(allowed.status), `${write}: ${allowed.status} ${allowed.text}`);
    }
  });

  test('a malformed JSON body on an admin write is 400 BAD_BODY, oversize is 413, no stack', async (t) => {
    const g = await startSecureGateway(t, { env });
    const headers = { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' };
    for (const body of ['{"a":', '{"__proto__":', '\u0000', '[[[[[[[[', '{"a":1}}'])
      assertCatalogueError(
        await send(`${g.url}/v1/admin/rollout`, { method: 'PUT', headers, body }),
        400,
        'BAD_BODY',
      );
    const big = `{"x":"${'a'.repeat(3 * 1024 * 1024)}"}`;
    assertCatalogueError(
      await send(`${g.url}/v1/admin/rollout`, { method: 'PUT', headers, body: big }),
      413,
      'BODY_TOO_LARGE',
    );
  });
});

describe('error bodies', () => {
  test('an internal error is a generic 500 INTERNAL: no message, stack or path; logged without the query', async (t) => {
    const router = express.Router();
    router.get('/boom-sync', () => {
      throw new Error('ENOENT: /work/main/secret/config.json at Object.readFileSync');
    });
    router.get('/boom-async', async (_req, _res, next) => {
      await Promise.resolve();
      next(Object.assign(new TypeError('cannot read x of undefined'), { status: 418, expose: true }));
    });
    const g = await startSecureGateway(t, { routers: [router] });
    for (const path of ['/boom-sync', '/boom-async']) {
      const r = await send(`${g.url}${path}?access_token=SECRET-TOKEN-VALUE&x=1`);
      assertCatalogueError(r, 500, 'INTERNAL');
      assert.deepEqual(r.json, { error: { code: 'INTERNAL', message: 'Internal error.' } });
    }
    const logged = g.logs.join('');
    assert.match(logged, /unhandled error/);
    assert.match(logged, /"path":"\/boom-sync"/);
    assert.doesNotMatch(logged, /SECRET-TOKEN-VALUE/);
  });

  test('unknown routes are 404 JSON, a wrong method on a front-door route 405 JSON', async (t) => {
    const g = await startSecureGateway(t);
    assertCatalogueError(await send(`${g.url}/nope`), 404, 'NOT_FOUND');
    const wrongMethod = await send(`${g.url}/v1/snapshot`, { method: 'DELETE' });
    assertCatalogueError(wrongMethod, 405, 'METHOD_NOT_ALLOWED');
    assert.equal(wrongMethod.headers.allow, 'GET, HEAD');
    assertCatalogueError(await send(`${g.url}/..%2f..%2fetc%2fpasswd`), 404, 'NOT_FOUND');
  });

  test('telemetry: malformed, oversized and over-long batches are JSON 400/413', async (t) => {
    const g = await startSecureGateway(t);
    const headers = { 'content-type': 'application/json' };
    const batch = (n: number) =>
      JSON.stringify({ transport: 'sse', latencyMs: Array.from({ length: n }, () => 5) });
    assert.equal(
      (await send(`${g.url}/v1/telemetry`, { method: 'POST', headers, body: batch(200) })).status,
      202,
    );
    assertCatalogueError(
      await send(`${g.url}/v1/telemetry`, { method: 'POST', headers, body: batch(201) }),
      400,
      'BAD_BODY',
    );
    assertCatalogueError(
      await send(`${g.url}/v1/telemetry`, { method: 'POST', headers, body: '{"transport":' }),
      400,
      'BAD_BODY',
    );
    assertCatalogueError(
      await send(`${g.url}/v1/telemetry`, { method: 'POST', headers, body: `[${'1,'.repeat(400_000)}1]` }),
      413,
      'BODY_TOO_LARGE',
    );
  });
});

describe('request size limits', () => {
  test('a URL past MAX_URL_LENGTH is 414 URI_TOO_LONG JSON, before any parser sees it', async (t) => {
    const g = await startSecureGateway(t, { env: { MAX_URL_LENGTH: '1024' } });
    const ok = await send(`${g.url}/v1/snapshot?streams=orders&pad=${'x'.repeat(900)}`);
    assert.equal(ok.status, 200);
    const r = await send(`${g.url}/v1/snapshot?streams=${'a,'.repeat(600)}`);
    assertCatalogueError(r, 414, 'URI_TOO_LONG');
    assert.equal(r.json.error.limit, 1024);
    assertCatalogueError(
      await send(`${g.url}/v1/stream?lastEventId=${'1'.repeat(2000)}`),
      414,
      'URI_TOO_LONG',
    );
  });

  test('headers past MAX_HEADER_BYTES are 431 HEADERS_TOO_LARGE JSON; the process carries on', async (t) => {
    const g = await startSecureGateway(t, { env: { MAX_HEADER_BYTES: '4096' } });
    const r = await send(`${g.url}/v1/snapshot`, { headers: { 'x-pad': 'y'.repeat(5000) } });
    assertCatalogueError(r, 431, 'HEADERS_TOO_LARGE');
    assert.equal(r.headers.connection, 'close');
    const cookie = await send(`${g.url}/v1/stream`, { headers: { cookie: `a=${'b'.repeat(8000)}` } });
    assertCatalogueError(cookie, 431, 'HEADERS_TOO_LARGE');
    assert.equal((await send(`${g.url}/v1/snapshot`)).status, 200);
  });

  test('a request the HTTP parser refuses is a 400 BAD_REQUEST JSON, then the connection closes', async (t) => {
    const g = await startSecureGateway(t);
    for (const raw of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      'GET /\u0000 HTTP/1.1\r\n\r\n',
      'GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n',
    ]) {
      const socket = connect(g.port, '127.0.0.1');
      t.after(() => socket.destroy());
      await once(socket, 'connect');
      socket.end(raw);
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString('latin1');
      });
      await once(socket, 'close');
      assert.match(text, /^HTTP\/1\.1 400 Bad Request\r\n/, JSON.stringify(raw));
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      assert.deepEqual(body, { error: { code: 'BAD_REQUEST', message: 'The HTTP request is malformed.' } });
    }
    assert.equal((await send(`${g.url}/healthz`)).status, 200);
  });
});

describe('slow requests', () => {
  test('a request whose headers never finish gets 408 REQUEST_TIMEOUT JSON and is closed (slowloris)', async (t) => {
    const server = hardenServer(
      createServer(
        { requestTimeout: 300, headersTimeout: 300, connectionsCheckingInterval: 50 },
        (_req, res) => res.end('unreachable'),
      ),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const addr = server.address();
    const socket = connect(typeof addr === 'object' && addr ? addr.port : 0, '127.0.0.1');
    t.after(() => socket.destroy());
    await once(socket, 'connect');
    socket.write('GET /v1/snapshot HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    let text = '';
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
    });
    await once(socket, 'close');
    assert.match(text, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.equal(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)).error.code, 'REQUEST_TIMEOUT');
  });
});

describe('per-IP request rate limit', () => {
  test('past the burst one address gets 429 RATE_LIMITED with a jittered Retry-After; others do not', async (t) => {
    let now = NOW;
    const g = await startSecureGateway(t, {
      now: () => now,
      random: () => 0.5,
      env: { RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '3', ADMIN_TOKEN: ADMIN },
    });
    const from = (localAddress: string, path = '/v1/snapshot', headers: Record<string, string> = {}) =>
      send(g.url + path, { localAddress, headers });
    for (let i = 0; i < 3; i++) assert.equal((await from('127.0.0.2')).status, 200);
    const limited = await from('127.0.0.2');
    assertCatalogueError(limited, 429, 'RATE_LIMITED');
    assert.equal(limited.headers['retry-after'], '2', 'base 1 s spread by the injected random (x1.5)');
    // Admin, legacy routes and /metrics share the address's bucket; probes and streams are exempt.
    assertCatalogueError(
      await from('127.0.0.2', '/v1/admin/rollout', { authorization: `Bearer ${ADMIN}` }),
      429,
      'RATE_LIMITED',
    );
    assert.equal((await from('127.0.0.2', '/v1/transport')).status, 429);
    assert.equal((await from('127.0.0.2', '/healthz')).status, 200);
    assert.equal((await from('127.0.0.2', '/readyz')).status, 200);
    assert.equal((await from('127.0.0.2', '/metrics')).status, 429);
    const stream = await send(`${g.url}/v1/stream`, { localAddress: '127.0.0.2', headersOnly: true });
    assert.equal(stream.status, 200);
    // Another address is unaffected.
    assert.equal((await from('127.0.0.3')).status, 200);
    // The bucket refills with time (injected clock).
    now += 1000;
    assert.equal((await from('127.0.0.2')).status, 200);
    assert.equal((await from('127.0.0.2')).status, 429);
    const metrics = await send(`${g.url}/metrics`);
    // Four polls and the scrape above.
    assert.match(metrics.text, /switchyard_rate_limited_total 5/);
  });

  test('Retry-After is spread over [wait, 2 x wait) by the random source', async (t) => {
    const seen = new Set<string>();
    let r = 0;
    const g = await startSecureGateway(t, {
      now: () => NOW,
      random: () => (r = (r + 0.37) % 1),
      env: { RATE_LIMIT_PER_SECOND: '0.25', RATE_LIMIT_BURST: '1' },
    });
    assert.equal((await send(`${g.url}/v1/snapshot`)).status, 200);
    for (let i = 0; i < 8; i++) {
      const res = await send(`${g.url}/v1/snapshot`);
      assert.equal(res.status, 429);
      const s = Number(res.headers['retry-after']);
      assert.ok(s >= 4 && s <= 8, `retry-after ${s}`);
      seen.add(String(s));
    }
    assert.ok(seen.size > 1, 'not every client is told the same second');
  });

  test('RATE_LIMIT_PER_SECOND=0 turns it off', async (t) => {
    const g = await startSecureGateway(t, {
      now: () => NOW,
      env: { RATE_LIMIT_PER_SECOND: '0', RATE_LIMIT_BURST: '1' },
    });
    for (let i = 0; i < 5; i++) assert.equal((await send(`${g.url}/v1/snapshot`)).status, 200);
  });

  test('TRUST_PROXY: X-Forwarded-For is believed only from a trusted proxy', async (t) => {
    const env = { RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '1' };
    const untrusted = await startSecureGateway(t, { now: () => NOW, env });
    assert.equal(
      (await send(`${untrusted.url}/v1/snapshot`, { headers: { 'x-forwarded-for': '198.51.100.1' } })).status,
      200,
    );
    // A forged header does not buy a fresh bucket.
    assert.equal(
      (await send(`${untrusted.url}/v1/snapshot`, { headers: { 'x-forwarded-for': '198.51.100.2' } })).status,
      429,
    );

    const warnings = untrusted.logs.filter((l) => l.includes('TRUST_PROXY is unset'));
    assert.equal(warnings.length, 1, 'the operator is told once that a proxy seems to be in front');

    const proxied = await startSecureGateway(t, { now: () => NOW, env: { ...env, TRUST_PROXY: 'loopback' } });
    for (const client of ['198.51.100.1', '198.51.100.2', '2001:db8::1'])
      assert.equal(
        (await send(`${proxied.url}/v1/snapshot`, { headers: { 'x-forwarded-for': client } })).status,
        200,
        client,
      );
    assert.equal(
      (await send(`${proxied.url}/v1/snapshot`, { headers: { 'x-forwarded-for': '198.51.100.1' } })).status,
      429,
    );
    assert.equal(
      (await send(`${proxied.url}/v1/snapshot`, { headers: { 'x-forwarded-for': '2001:db8::2' } })).status,
      429,
      'the same IPv6 /64 shares one bucket',
    );
  });
});

describe('security headers', () => {
  test('every API response has nosniff and no-referrer', async (t) => {
    const g = await startSecureGateway(t);
    for (const path of ['/v1/snapshot', '/nope', '/healthz', '/v1/snapshot?streams=zzz']) {
      const r = await send(g.url + path);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
      assert.equal(r.headers['referrer-policy'], 'no-referrer', path);
    }
    const s = await send(`${g.url}/v1/stream`, { headersOnly: true });
    assert.equal(s.headers['x-content-type-options'], 'nosniff');
  });

  test("HTML pages (/compare, /demo/) carry a CSP allowing only the gateway's own scripts", async (t) => {
    const g = await startSecureGateway(t);
    for (const path of ['/compare', '/demo/']) {
      const r = await send(g.url + path);
      assert.equal(r.status, 200, path);
      assert.match(String(r.headers['content-type']), /text\/html/);
      const csp = String(r.headers['content-security-policy']);
      const directives = new Map(
        csp.split(';').map((d) => {
          const [name, ...values] = d.trim().split(/\s+/);
          return [name!, values] as const;
        }),
      );
      assert.deepEqual(directives.get('script-src'), ["'self'"], `${path}: ${csp}`);
      assert.deepEqual(directives.get('default-src'), ["'none'"], `${path}: ${csp}`);
      assert.deepEqual(directives.get('object-src') ?? directives.get('default-src'), ["'none'"]);
      assert.ok(directives.has('frame-ancestors'), `${path}: ${csp}`);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, path);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.doesNotMatch(r.text, /<script(?![^>]*\bsrc=)[^>]*>/i, `${path} has no inline script`);
      assert.doesNotMatch(r.text, /\son[a-z]+\s*=/i, `${path} has no inline event handler`);
    }
  });
});
