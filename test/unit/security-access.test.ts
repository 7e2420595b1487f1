/**
 * Stream tokens on the real app (connect, resume, expiry during a stream, snapshots) and CORS
 * with credentials. Clocks are injected; the expiry sweep is the gateway's own timer.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mintStreamToken, type StreamTokenClaims } from '../../gateway/security/stream-token.ts';
import { loadConfig } from '../../gateway/switchyard.ts';
import { openSse } from '../helpers/sse-client.ts';
import { until } from './core-fixture.ts';
import { send, startSecureGateway, TOKEN_SECRET } from './security-fixture.ts';

const T0 = 1_700_000_000_000;
const sec = (ms: number) => Math.floor(ms / 1000);
const token = (claims: Partial<StreamTokenClaims> & { exp: number }, secret = TOKEN_SECRET) =>
  mintStreamToken(secret, { streams: '*', ...claims });
const env = { STREAM_TOKEN_SECRET: TOKEN_SECRET, RATE_LIMIT_PER_SECOND: '0' };

describe('stream tokens on /v1/stream and /v1/snapshot', () => {
  test('without STREAM_TOKEN_SECRET streams and snapshots are public (tokens are ignored)', async (t) => {
    const g = await startSecureGateway(t, { env: { RATE_LIMIT_PER_SECOND: '0' } });
    assert.equal((await send(`${g.url}/v1/stream?access_token=garbage`, { headersOnly: true })).status, 200);
    const snap = await send(`${g.url}/v1/snapshot`);
    assert.equal(snap.status, 200);
    assert.match(String(snap.headers['cache-control']), /^public/);
  });

  test('missing, forged, malformed, expired and wrong-stream tokens are refused with catalogue errors', async (t) => {
    const now = T0;
    const g = await startSecureGateway(t, { env, now: () => now });
    const valid = token({ exp: sec(T0) + 60, streams: ['orders'] });
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['', {}, 401, 'UNAUTHORIZED'],
      ['access_token=', {}, 401, 'UNAUTHORIZED'],
      ['', { cookie: 'switchyard_token=' }, 401, 'UNAUTHORIZED'],
      [
        `access_token=${token({ exp: sec(T0) + 60 }, 'some-other-secret-that-is-long-enough!!')}`,
        {},
        401,
        'UNAUTHORIZED',
      ],
      [`access_token=${valid.slice(0, -2)}`, {}, 401, 'UNAUTHORIZED'],
      ['access_token=not.a.token', {}, 401, 'UNAUTHORIZED'],
      [`access_token=${'x'.repeat(5000)}`, {}, 400, 'BAD_QUERY'],
      [`access_token=${valid}&access_token=${valid}`, {}, 400, 'BAD_QUERY'],
      [`access_token=${token({ exp: sec(T0) - 1 })}`, {}, 401, 'TOKEN_EXPIRED'],
      [`access_token=${token({ exp: sec(T0) + 60, nbf: sec(T0) + 30 })}`, {}, 401, 'UNAUTHORIZED'],
      [`access_token=${valid}&streams=totals`, {}, 403, 'FORBIDDEN'],
      [`access_token=${valid}`, {}, 403, 'FORBIDDEN'], // no streams= means all of them
      ['streams=totals', { cookie: `switchyard_token=${valid}` }, 403, 'FORBIDDEN'],
    ];
    for (const path of ['/v1/stream', '/v1/snapshot'])
      for (const [query, headers, status, code] of cases) {
        const r = await send(`${g.url}${path}?${query}`, { headers, headersOnly: true });
        assert.equal(r.status, status, `${path}?${query.slice(0, 80)} -> ${r.text}`);
        assert.equal(r.json?.error?.code, code, `${path}?${query.slice(0, 80)}`);
        if (code === 'FORBIDDEN') assert.deepEqual(r.json.error.streams, ['totals']);
        if (status === 401) assert.doesNotMatch(r.text, /orders|totals/, '401 reveals no stream names');
      }
    const metrics = (await send(`${g.url}/metrics`)).text;
    assert.match(metrics, /switchyard_stream_auth_failures_total\{reason="missing"\} 6/);
    assert.match(metrics, /switchyard_stream_auth_failures_total\{reason="expired"\} 2/);
    assert.match(metrics, /switchyard_stream_auth_failures_total\{reason="forbidden_stream"\} 6/);
  });

  test('a valid token opens its streams, in a cookie or the query; snapshots are then private', async (t) => {
    const g = await startSecureGateway(t, { env, now: () => T0 });
    const orders = token({ exp: sec(T0) + 60, streams: ['orders'] });
    const all = token({ exp: sec(T0) + 60 });
    const byQuery = await openSse(`${g.url}/v1/stream?streams=orders&access_token=${orders}`, { t });
    assert.equal(byQuery.status, 200);
    assert.equal((await byQuery.nextEvent()).event, 'snapshot');
    const byCookie = await openSse(`${g.url}/v1/stream`, {
      t,
      headers: { cookie: `theme=dark; switchyard_token=${all}` },
    });
    assert.equal(byCookie.status, 200);
    assert.equal((await byCookie.nextEvent()).event, 'snapshot');
    // The query wins over the cookie (an explicit choice for this connection).
    const both = await send(`${g.url}/v1/snapshot?streams=totals&access_token=${orders}`, {
      headers: { cookie: `switchyard_token=${all}` },
    });
    assert.equal(both.status, 403);
    const snap = await send(`${g.url}/v1/snapshot?streams=orders`, {
      headers: { cookie: `switchyard_token=${orders}` },
    });
    assert.equal(snap.status, 200);
    assert.match(String(snap.headers['cache-control']), /^private/);
  });

  test('checked on resume too: a reconnect with Last-Event-ID needs a token that is still valid', async (t) => {
    let now = T0;
    const g = await startSecureGateway(t, { env, now: () => now });
    const tok = token({ exp: sec(T0) + 60, streams: ['totals'] });
    const first = await openSse(`${g.url}/v1/stream?streams=totals&access_token=${tok}`, { t });
    const snap = await first.nextEvent();
    first.close();
    g.source.produce('topic.totals', [{ key: 'fr', value: '{"n":1}' }]);
    const resumed = await openSse(`${g.url}/v1/stream?streams=totals&access_token=${tok}`, {
      t,
      headers: { 'last-event-id': snap.id! },
    });
    assert.equal(resumed.status, 200);
    const replayed = await resumed.nextEvent();
    assert.equal(replayed.event, 'update', 'the missed update is replayed');
    resumed.close();
    for (const [query, code] of [
      ['', 'UNAUTHORIZED'],
      [`&access_token=${token({ exp: sec(T0) + 60, streams: ['orders'] })}`, 'FORBIDDEN'],
    ] as const) {
      const r = await send(`${g.url}/v1/stream?streams=totals${query}`, {
        headers: { 'last-event-id': snap.id! },
      });
      assert.equal(r.json?.error?.code, code);
    }
    now = T0 + 60_000;
    const late = await send(`${g.url}/v1/stream?streams=totals&access_token=${tok}`, {
      headers: { 'last-event-id': snap.id! },
    });
    assert.equal(late.status, 401);
    assert.equal(late.json.error.code, 'TOKEN_EXPIRED');
  });

  test('a token expiring during a stream ends it with an error event TOKEN_EXPIRED; others keep going', async (t) => {
    let now = T0;
    const g = await startSecureGateway(t, { env, now: () => now });
    const short = await openSse(`${g.url}/v1/stream?access_token=${token({ exp: sec(T0) + 30 })}`, { t });
    const long = await openSse(`${g.url}/v1/stream?access_token=${token({ exp: sec(T0) + 3600 })}`, { t });
    await short.nextEvent();
    await long.nextEvent();
    const watch = g.ctx.expiryWatch;
    assert.equal(watch.size, 2);
    now = T0 + 29_999;
    assert.equal(watch.sweep(), 0, 'not before its expiry');
    now = T0 + 30_000;
    // No manual sweep: the gateway's one sweep timer notices within a second.
    const err = await short.waitFor((i) => i.kind === 'event' && i.event === 'gateway-error');
    assert.equal(err.kind === 'event' && JSON.parse(err.data).code, 'TOKEN_EXPIRED');
    await short.closed;
    assert.equal(short.isClosed, true);
    g.source.produce('topic.totals', [{ key: 'de', value: '{"n":2}' }]);
    assert.equal((await long.nextEvent()).event, 'update', 'the other client still streams');
    assert.equal(watch.size, 1);
    long.close();
    await long.closed;
    await until(() => watch.size === 0, 'the closed stream leaves the watch');
    const metrics = (await send(`${g.url}/metrics`)).text;
    assert.match(metrics, /switchyard_stream_token_expiries_total 1/);
  });

  test('streams closed for other reasons are forgotten by the expiry watch (nothing retained)', async (t) => {
    const g = await startSecureGateway(t, { env, now: () => T0 });
    const watch = g.ctx.expiryWatch;
    for (let i = 0; i < 20; i++) {
      const c = await openSse(`${g.url}/v1/stream?access_token=${token({ exp: sec(T0) + 600 })}`, { t });
      await c.nextEvent();
      c.close();
      await c.closed;
    }
    await until(() => watch.size === 0, 'every closed stream leaves the watch');
  });

  test('tokens never reach the logs', async (t) => {
    const g = await startSecureGateway(t, { env, now: () => T0 });
    const tok = token({ exp: sec(T0) + 60 });
    const expired = token({ exp: sec(T0) - 60 });
    await send(`${g.url}/v1/snapshot?access_token=${tok}`);
    await send(`${g.url}/v1/snapshot?access_token=${expired}`);
    await send(`${g.url}/v1/snapshot`, {
      headers: { cookie: `switchyard_token=${tok}`, authorization: `Bearer ${tok}` },
    });
    await send(`${g.url}/nope?access_token=${tok}`);
    const logs = g.logs.join('');
    for (const secret of [tok, expired, TOKEN_SECRET, tok.split('.')[2]!])
      assert.equal(logs.includes(secret), false, 'a token or the secret was logged');
  });
});

describe('CORS', () => {
  const ALLOWED = 'https://app.example.com';
  const corsEnv = { CORS_ORIGINS: `${ALLOWED}, http://localhost:3000`, RATE_LIMIT_PER_SECOND: '0' };

  test('an allowed origin is echoed with credentials and Vary: Origin, never *', async (t) => {
    const g = await startSecureGateway(t, { env: corsEnv });
    for (const path of ['/v1/snapshot', '/nope', '/v1/snapshot?streams=zzz']) {
      const r = await send(g.url + path, { headers: { origin: ALLOWED, 'accept-encoding': 'gzip' } });
      assert.equal(r.headers['access-control-allow-origin'], ALLOWED, path);
      assert.equal(r.headers['access-control-allow-credentials'], 'true', path);
      assert.match(String(r.headers.vary), /\bOrigin\b/, path);
      assert.match(String(r.headers['access-control-expose-headers']), /ETag/);
    }
    const snap = await send(`${g.url}/v1/snapshot`, { headers: { origin: ALLOWED } });
    assert.match(String(snap.headers.vary), /Origin/);
    assert.match(String(snap.headers.vary), /Accept-Encoding/, 'both, neither overwriting the other');
    const stream = await send(`${g.url}/v1/stream`, {
      headers: { origin: 'http://localhost:3000' },
      headersOnly: true,
    });
    assert.equal(stream.status, 200);
    assert.equal(stream.headers['access-control-allow-origin'], 'http://localhost:3000');
    assert.equal(stream.headers['access-control-allow-credentials'], 'true');
  });

  test('a disallowed origin gets no CORS header at all (but the Vary)', async (t) => {
    const g = await startSecureGateway(t, { env: corsEnv });
    for (const origin of [
      'https://evil.example.com',
      'null',
      'https://app.example.com.evil.net',
      'http://app.example.com',
      '*',
    ]) {
      const r = await send(`${g.url}/v1/snapshot`, { headers: { origin } });
      assert.equal(r.status, 200);
      assert.equal(r.headers['access-control-allow-origin'], undefined, origin);
      assert.equal(r.headers['access-control-allow-credentials'], undefined, origin);
      assert.match(String(r.headers.vary), /Origin/);
    }
  });

  test('preflight: 204 with methods and headers for an allowed origin; 403 or 405 otherwise', async (t) => {
    const g = await startSecureGateway(t, { env: corsEnv });
    const ok = await send(`${g.url}/v1/stream`, {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'last-event-id',
      },
    });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers['access-control-allow-origin'], ALLOWED);
    assert.equal(ok.headers['access-control-allow-credentials'], 'true');
    assert.match(String(ok.headers['access-control-allow-methods']), /GET/);
    assert.match(String(ok.headers['access-control-allow-headers']), /Last-Event-ID/);
    assert.equal(ok.headers['access-control-max-age'], '600');
    const evil = await send(`${g.url}/v1/stream`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' },
    });
    assert.equal(evil.status, 403);
    assert.equal(evil.json.error.code, 'FORBIDDEN');
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
    const trace = await send(`${g.url}/v1/stream`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'TRACE' },
    });
    assert.equal(trace.status, 405);
  });

  test('without CORS_ORIGINS there are no CORS headers, and preflights are plain 405s', async (t) => {
    const g = await startSecureGateway(t, { env: { RATE_LIMIT_PER_SECOND: '0' } });
    const r = await send(`${g.url}/v1/snapshot`, { headers: { origin: ALLOWED } });
    assert.equal(r.headers['access-control-allow-origin'], undefined);
    assert.doesNotMatch(String(r.headers.vary ?? ''), /Origin/);
    const pre = await send(`${g.url}/v1/snapshot`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED, 'access-control-request-method': 'GET' },
    });
    assert.equal(pre.headers['access-control-allow-origin'], undefined);
    // OPTIONS is not a method of /v1/snapshot: 405 with its Allow (a 404 before the pipeline).
    assert.equal(pre.status, 405);
    assert.equal(pre.headers.allow, 'GET, HEAD');
  });

  test('CORS_ORIGINS refuses wildcards, null, paths and non-http schemes at start-up', () => {
    for (const bad of [
      '*',
      'null',
      'https://a.example.com/app',
      'ftp://a.example.com',
      'https://*.example.com',
      'a.example.com',
    ])
      assert.throws(() => loadConfig({ CORS_ORIGINS: bad }), /CORS_ORIGINS/, bad);
    const ok = loadConfig({ CORS_ORIGINS: 'https://A.example.com/, http://[::1]:8080' });
    assert.deepEqual(ok.security.corsOrigins, ['https://a.example.com', 'http://[::1]:8080']);
  });

  test('config: secrets are validated and never echoed in config errors', () => {
    assert.throws(
      () => loadConfig({ STREAM_TOKEN_SECRET: 'short-secret' }),
      (err: Error) => /STREAM_TOKEN_SECRET/.test(err.message) && !err.message.includes('short-secret'),
    );
    assert.throws(
      () => loadConfig({ ADMIN_TOKEN: 'tooshort' }),
      (err: Error) => /ADMIN_TOKEN/.test(err.message) && !err.message.includes('tooshort'),
    );
    const rotated = loadConfig({
      STREAM_TOKEN_SECRET: 'n'.repeat(32),
      STREAM_TOKEN_SECRET_PREVIOUS: 'o'.repeat(32),
    });
    assert.deepEqual(rotated.security.streamTokenSecrets, ['n'.repeat(32), 'o'.repeat(32)]);
    assert.throws(() => loadConfig({ TRUST_PROXY: 'everyone' }), /TRUST_PROXY/);
    assert.deepEqual(loadConfig({ TRUST_PROXY: 'loopback, 10.0.0.0/8' }).security.trustProxy, [
      'loopback',
      '10.0.0.0/8',
    ]);
    assert.equal(loadConfig({ TRUST_PROXY: '1' }).security.trustProxy, 1);
  });
});
