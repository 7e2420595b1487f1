/**
 * Legacy route modes over real sockets: a MemorySource gateway in front of the in-process
 * reference backend, both fed the same records. Proxy passes bytes through, serve answers from
 * the cache (and falls back when it cannot), shadow compares off the request path, and the admin
 * API changes modes at runtime behind its token.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { liveMapContract, liveMapShape } from '../../compat/contracts/live-map.ts';
import type { LegacyContract } from '../../compat/contracts/types.ts';
import { mintStreamToken } from '../../gateway/security/stream-token.ts';
import { startGateway } from '../../gateway/switchyard.ts';
import {
  ADMIN_TOKEN,
  alteredLiveMap,
  call,
  generator,
  nextComparison,
  produceOrders,
  putRoute,
  READ_TOKEN,
  ROUTE,
  renamedOrderIdContract,
  stable,
  startLegacyFixture,
} from './legacy-fixture.ts';

const T0 = 1_700_000_000_000;
/** Hop-by-hop or per-connection headers: not part of what the backend said. */
const PER_CONNECTION = new Set(['connection', 'keep-alive', 'date', 'transfer-encoding']);

const throwingContract: LegacyContract = {
  ...(liveMapContract as LegacyContract),
  name: 'live-map-throws',
  render() {
    throw new Error('boom');
  },
};

/** Rounds revenue: values differ although both sides saw the same data (a value bug, not a shape one). */
const roundingContract = alteredLiveMap('live-map-rounded', (body) => ({
  ...body,
  totals_by_country: body.totals_by_country.map((c) => ({ ...c, revenue_usd: Math.round(c.revenue_usd) })),
}));

const contracts = {
  'live-map': liveMapContract as LegacyContract,
  'live-map-rounded': roundingContract,
  'live-map-broken': renamedOrderIdContract,
  'live-map-throws': throwingContract,
};

const admin = (token = ADMIN_TOKEN) => ({ authorization: `Bearer ${token}` });

describe('legacy routes', () => {
  test('proxy: status, headers and body bytes of the backend, gzip and 304 included', async (t) => {
    const f = await startLegacyFixture(t);
    await produceOrders(f, generator(), 120, T0);
    f.backend.refresh();
    for (const headers of [{}, { 'accept-encoding': 'gzip' }] as Record<string, string>[]) {
      const direct = await call(`${f.backendUrl}${ROUTE}`, { headers });
      const proxied = await call(`${f.url}${ROUTE}`, { headers });
      assert.equal(proxied.status, direct.status);
      assert.ok(proxied.body.equals(direct.body), 'byte-identical body');
      for (const [name, value] of Object.entries(direct.headers))
        if (!PER_CONNECTION.has(name)) assert.deepEqual(proxied.headers[name], value, `header ${name}`);
      if ('accept-encoding' in headers) assert.equal(proxied.headers['content-encoding'], 'gzip');
    }
    const etag = String((await call(`${f.backendUrl}${ROUTE}`)).headers.etag);
    const notModified = await call(`${f.url}${ROUTE}`, { headers: { 'if-none-match': etag } });
    assert.equal(notModified.status, 304);
    assert.equal(notModified.body.length, 0);
  });

  test('serve: the backend body from the cache, with ETag/304, Cache-Control, gzip and HEAD', async (t) => {
    const f = await startLegacyFixture(t);
    await produceOrders(f, generator(), 120, T0);
    f.backend.refresh();
    assert.equal((await putRoute(f, { mode: 'serve' })).status, 200);
    // The backend stops answering: serve must not need it.
    await f.backend.close();

    const res = await call(`${f.url}${ROUTE}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-switchyard-source'], 'cache');
    assert.equal(res.headers['cache-control'], 'public, max-age=10');
    assert.match(String(res.headers['content-type']), /^application\/json; charset=utf-8$/);
    const etag = String(res.headers.etag);
    assert.equal(etag, `W/"${f.ctx.selections.resolve('orders,totals').eventId()}"`);
    const body = liveMapShape.parse(JSON.parse(res.text));
    assert.equal(body.recent_orders.length, 50);

    const gz = await call(`${f.url}${ROUTE}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.body).toString('utf8'), res.text);
    const nm = await call(`${f.url}${ROUTE}`, { headers: { 'if-none-match': etag } });
    assert.equal(nm.status, 304);
    const head = await call(`${f.url}${ROUTE}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body.length, 0);
    assert.equal(head.headers['content-length'], String(res.body.length));
  });

  test('serve needs a stream token for the contract streams when tokens are on; proxy does not', async (t) => {
    const secret = 's'.repeat(40);
    const f = await startLegacyFixture(t, { env: { STREAM_TOKEN_SECRET: secret } });
    await produceOrders(f, generator(), 20, T0);
    f.backend.refresh();
    // Proxy: the backend keeps its own access rules; the gateway adds none.
    assert.equal((await call(`${f.url}${ROUTE}`)).status, 200);
    assert.equal((await putRoute(f, { mode: 'serve' })).status, 200);
    const missing = await call(`${f.url}${ROUTE}`);
    assert.equal(missing.status, 401);
    assert.equal(JSON.parse(missing.text).error.code, 'UNAUTHORIZED');
    const exp = Math.floor(Date.now() / 1000) + 600;
    const ordersOnly = mintStreamToken(secret, { exp, streams: ['orders'] });
    const partial = await call(`${f.url}${ROUTE}?access_token=${ordersOnly}`);
    assert.equal(partial.status, 403);
    const both = mintStreamToken(secret, { exp, streams: ['orders', 'totals'] });
    const ok = await call(`${f.url}${ROUTE}`, { headers: { cookie: `switchyard_token=${both}` } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['x-switchyard-source'], 'cache');
  });

  test('serve equals the backend once both have the same data', async (t) => {
    const f = await startLegacyFixture(t);
    await produceOrders(f, generator(5), 90, T0);
    f.backend.refresh();
    const legacy = await call(`${f.backendUrl}${ROUTE}`);
    await putRoute(f, { mode: 'serve' });
    const served = await call(`${f.url}${ROUTE}`);
    assert.deepEqual(stable(served.text), stable(legacy.text));
  });

  test('serve falls back to the backend while the cache is not ready, and says so', async (t) => {
    const f = await startLegacyFixture(t, {
      start: false,
      env: { LEGACY_ROUTES: `live-map:${ROUTE}:serve` },
    });
    const res = await call(`${f.url}${ROUTE}`);
    assert.equal(res.headers['x-switchyard-fallback'], 'not-ready');
    // The backend is still warming up too (its store is fed by the same source): its 503 passes.
    assert.equal(res.status, 503);
    assert.deepEqual(JSON.parse(res.text), { error: 'warming up' });
    await startGateway(f.ctx);
    const ready = await call(`${f.url}${ROUTE}`);
    assert.equal(ready.status, 200);
    assert.equal(ready.headers['x-switchyard-source'], 'cache');
    assert.equal(ready.headers['x-switchyard-fallback'], undefined);
  });

  test('serve falls back when the source is silent beyond LEGACY_STALE_LIMIT_MS', async (t) => {
    let clock = T0;
    const f = await startLegacyFixture(t, {
      now: () => clock,
      env: { LEGACY_ROUTES: `live-map:${ROUTE}:serve`, LEGACY_STALE_LIMIT_MS: '5000' },
    });
    await produceOrders(f, generator(), 10, T0);
    f.backend.refresh();
    f.source.setConnected(false);
    clock += 4000;
    assert.equal(
      (await call(`${f.url}${ROUTE}`)).headers['x-switchyard-source'],
      'cache',
      'within the limit',
    );
    clock += 2000;
    const stale = await call(`${f.url}${ROUTE}`);
    assert.equal(stale.headers['x-switchyard-fallback'], 'stale');
    assert.equal(stale.status, 200);
    assert.equal(stale.headers['x-switchyard-source'], undefined);
    assert.match(String(stale.headers.etag), /^"/, "the backend's strong ETag");
    const shadow = await call(`${f.url}/v1/admin/routes`, { headers: admin(READ_TOKEN) });
    assert.deepEqual(JSON.parse(shadow.text).routes[0].serve, { fromCache: false, fallback: 'stale' });
  });

  test('serve falls back when the contract cannot render', async (t) => {
    const f = await startLegacyFixture(t, { contracts });
    await produceOrders(f, generator(), 5, T0);
    f.backend.refresh();
    assert.equal((await putRoute(f, { mode: 'serve', contract: 'live-map-throws' })).status, 200);
    const res = await call(`${f.url}${ROUTE}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-switchyard-fallback'], 'render-error');
    assert.equal(res.headers['x-switchyard-source'], undefined);
  });

  test('a mode change takes effect on the next request, and shows in metrics', async (t) => {
    const f = await startLegacyFixture(t);
    await produceOrders(f, generator(), 10, T0);
    f.backend.refresh();
    const direct = await call(`${f.backendUrl}${ROUTE}`);
    assert.ok((await call(`${f.url}${ROUTE}`)).body.equals(direct.body));
    await putRoute(f, { mode: 'serve' });
    assert.equal((await call(`${f.url}${ROUTE}`)).headers['x-switchyard-source'], 'cache');
    await putRoute(f, { mode: 'proxy' });
    assert.ok((await call(`${f.url}${ROUTE}`)).body.equals(direct.body));
    await putRoute(f, { mode: 'serve' });
    const metrics = (await call(`${f.url}/metrics`)).text;
    assert.match(metrics, /switchyard_legacy_route_mode\{route="live-map",mode="serve"\} 1/);
    assert.match(metrics, /switchyard_legacy_route_mode\{route="live-map",mode="proxy"\} 0/);
    assert.match(
      metrics,
      /switchyard_legacy_responses_total\{route="live-map",mode="proxy",source="backend"\} 2/,
    );
    assert.match(
      metrics,
      /switchyard_legacy_responses_total\{route="live-map",mode="serve",source="cache"\} 1/,
    );
  });

  test('admin: 401 without a valid token and nothing changes; 403 for the read token; 400/404 name the problem', async (t) => {
    const f = await startLegacyFixture(t, { contracts });
    const modeNow = async () =>
      JSON.parse((await call(`${f.url}/v1/admin/routes`, { headers: admin() })).text).routes[0].mode;

    const noToken = await putRoute(f, { mode: 'serve' }, null);
    assert.equal(noToken.status, 401);
    assert.equal(JSON.parse(noToken.text).error.code, 'UNAUTHORIZED');
    assert.equal((await putRoute(f, { mode: 'serve' }, 'wrong-token-wrong-token')).status, 401);
    assert.equal((await putRoute(f, '{garbage', null)).status, 401, 'auth before the body is read');
    const readOnly = await putRoute(f, { mode: 'serve' }, READ_TOKEN);
    assert.equal(readOnly.status, 403);
    assert.equal(await modeNow(), 'proxy');
    assert.equal((await call(`${f.url}/v1/admin/routes`)).status, 401);
    assert.equal((await call(`${f.url}/v1/admin/shadow`)).status, 401);

    const badMode = await putRoute(f, { mode: 'mirror' });
    assert.equal(badMode.status, 400);
    assert.equal(JSON.parse(badMode.text).error.code, 'BAD_BODY');
    assert.match(
      JSON.parse(badMode.text).error.message,
      /unknown mode "mirror" \(expected proxy, shadow or serve\)/,
    );
    const badContract = await putRoute(f, { mode: 'serve', contract: 'nope' });
    assert.equal(badContract.status, 400);
    assert.match(JSON.parse(badContract.text).error.message, /unknown contract "nope"/);
    assert.equal(await modeNow(), 'proxy', 'a refused change changes nothing, mode included');
    assert.equal((await putRoute(f, { mode: 'serve', extra: 1 })).status, 400);
    assert.equal((await putRoute(f, {})).status, 400);
    assert.equal((await putRoute(f, { sampleRate: 2 })).status, 400);
    assert.equal((await putRoute(f, '{garbage')).status, 400);
    assert.equal((await putRoute(f, '[1]')).status, 400);
    const unknown = await putRoute(f, { mode: 'serve' }, ADMIN_TOKEN, 'other');
    assert.equal(unknown.status, 404);
    assert.match(JSON.parse(unknown.text).error.message, /no legacy route named "other"/);

    const ok = await putRoute(f, { mode: 'shadow', sampleRate: 0.25 });
    assert.equal(ok.status, 200);
    const route = JSON.parse(ok.text);
    assert.equal(route.mode, 'shadow');
    assert.equal(route.sampleRate, 0.25);
    assert.equal((await call(`${f.url}/v1/admin/routes`, { headers: admin(READ_TOKEN) })).status, 200);
    // Route names in metrics come from config: an unknown name never becomes a label.
    assert.doesNotMatch((await call(`${f.url}/metrics`)).text, /route="other"/);
  });

  test('shadow: a renamed field is structural, with both bodies in the log', async (t) => {
    const f = await startLegacyFixture(t, { contracts });
    await produceOrders(f, generator(), 60, T0);
    f.backend.refresh();
    await putRoute(f, { mode: 'shadow', sampleRate: 1, contract: 'live-map-broken' });
    const compared = nextComparison(f);
    const res = await call(`${f.url}${ROUTE}`);
    assert.ok(
      res.body.equals((await call(`${f.backendUrl}${ROUTE}`)).body),
      'the client gets the legacy answer',
    );
    const c = await compared;
    assert.equal(c.outcome, 'structural');
    assert.deepEqual(
      c.structural.map((s) => `${s.kind} ${s.path}`),
      ['missing recent_orders[].order_id', 'extra recent_orders[].orderId'],
    );
    const log = JSON.parse(
      (await call(`${f.url}/v1/admin/shadow?limit=1`, { headers: admin(READ_TOKEN) })).text,
    );
    assert.equal(log.routes['live-map'].structural, 1);
    assert.equal(log.mismatches.length, 1);
    assert.equal(log.mismatches[0].legacyBody, res.text);
    assert.match(log.mismatches[0].renderedBody, /"orderId":/);
  });

  test('shadow: data moved on is drift with a freshness figure, never structural; same data is a match', async (t) => {
    const f = await startLegacyFixture(t);
    const gen = generator();
    await produceOrders(f, gen, 60, T0);
    f.backend.refresh();
    await putRoute(f, { mode: 'shadow', sampleRate: 1 });

    let compared = nextComparison(f);
    await call(`${f.url}${ROUTE}`);
    const match = await compared;
    assert.equal(match.outcome, 'match');

    assert.equal(match.legacyAsOf, T0 + 59, 'the newest order the old report shows');
    assert.equal(match.cacheAheadMs, 0);
    // The backend keeps its report; the cache gets newer orders, a minute later.
    await produceOrders(f, gen, 7, T0 + 60_000);
    compared = nextComparison(f);
    await call(`${f.url}${ROUTE}`);
    const drift = await compared;
    assert.equal(drift.outcome, 'drift');
    assert.deepEqual(drift.structural, []);
    assert.ok(drift.driftCount >= 7, `7 new orders at least (${drift.driftCount})`);
    assert.equal(drift.legacyAsOf, T0 + 59);
    assert.equal(drift.cacheAsOf, T0 + 60_006);
    assert.equal(drift.cacheAheadMs, 60_006 - 59);
    assert.equal(drift.explained, true, 'the cache had newer data');
    const metrics = (await call(`${f.url}/metrics`)).text;
    assert.match(metrics, /switchyard_legacy_shadow_comparisons_total\{route="live-map",outcome="match"\} 1/);
    assert.match(metrics, /switchyard_legacy_shadow_comparisons_total\{route="live-map",outcome="drift"\} 1/);
    assert.match(metrics, /switchyard_legacy_shadow_cache_ahead_seconds_count\{route="live-map"\} 2/);
  });

  test('shadow: unsampled requests are not compared; 304s are skipped, not counted as errors', async (t) => {
    const f = await startLegacyFixture(t);
    await produceOrders(f, generator(), 10, T0);
    f.backend.refresh();
    await putRoute(f, { mode: 'shadow', sampleRate: 0 });
    await call(`${f.url}${ROUTE}`);
    await f.ctx.legacy.idle();
    await putRoute(f, { sampleRate: 1 });
    const etag = String((await call(`${f.backendUrl}${ROUTE}`)).headers.etag);
    assert.equal((await call(`${f.url}${ROUTE}`, { headers: { 'if-none-match': etag } })).status, 304);
    await f.ctx.legacy.idle();
    const stats = JSON.parse((await call(`${f.url}/v1/admin/shadow`, { headers: admin() })).text).routes[
      'live-map'
    ];
    assert.deepEqual(
      { ...stats, last: null },
      {
        match: 0,
        structural: 0,
        drift: 0,
        legacy_error: 0,
        render_error: 0,
        unexplainedDrift: 0,
        skipped: { rate_limited: 0, queue_full: 0, not_ready: 0, not_modified: 1 },
        last: null,
      },
    );
  });

  test('shadow: comparisons per second are capped (LEGACY_SHADOW_MAX_PER_SECOND); the rest are skipped', async (t) => {
    let clock = T0;
    const f = await startLegacyFixture(t, {
      now: () => clock,
      env: {
        LEGACY_SHADOW_MAX_PER_SECOND: '2',
        LEGACY_SHADOW_SAMPLE: '1',
        LEGACY_ROUTES: `live-map:${ROUTE}:shadow`,
      },
    });
    await produceOrders(f, generator(), 5, T0);
    f.backend.refresh();
    for (let i = 0; i < 5; i++) assert.equal((await call(`${f.url}${ROUTE}`)).status, 200);
    clock += 500; // half a second: one more token
    assert.equal((await call(`${f.url}${ROUTE}`)).status, 200);
    await f.ctx.legacy.idle();
    const stats = JSON.parse((await call(`${f.url}/v1/admin/shadow`, { headers: admin() })).text).routes[
      'live-map'
    ];
    assert.equal(stats.match, 3);
    assert.equal(stats.skipped.rate_limited, 3);
  });

  test('shadow: drift the cache data cannot explain (no newer data) is flagged unexplained', async (t) => {
    const f = await startLegacyFixture(t, { contracts });
    await produceOrders(f, generator(), 40, T0);
    f.backend.refresh();
    await putRoute(f, { mode: 'shadow', sampleRate: 1, contract: 'live-map-rounded' });
    const compared = nextComparison(f);
    await call(`${f.url}${ROUTE}`);
    const c = await compared;
    assert.equal(c.outcome, 'drift');
    assert.equal(c.cacheAheadMs, 0, 'both sides show the same newest record');
    assert.equal(c.explained, false);
    assert.ok(c.driftSamples.every((s) => s.path.endsWith('.revenue_usd')));
    const stats = JSON.parse((await call(`${f.url}/v1/admin/routes`, { headers: admin() })).text).routes[0]
      .shadow;
    assert.equal(stats.unexplainedDrift, 1);
  });
});
