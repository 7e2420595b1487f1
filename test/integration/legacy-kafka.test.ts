/**
 * Issue 3 against the real broker: the reference legacy backend runs as its own process, fed
 * by its own Kafka consumer from the same topics as the gateway. Proxy is byte-identical, serve
 * converges to the backend's body, shadow tells a contract bug (structural) from data that moved
 * on (drift), modes switch at runtime, and a dead backend is a 502 in proxy but not in serve.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CONTRACTS } from '../../compat/contracts/index.ts';
import { liveMapShape } from '../../compat/contracts/live-map.ts';
import { createApp } from '../../gateway/http/app.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { LiveMapGenerator, seededRandom } from '../../gateway/source/demo-live-map.ts';
import type { Switchyard } from '../../gateway/switchyard.ts';
import { createGateway, loadConfig, startGateway, stopGateway } from '../../gateway/switchyard.ts';
import type { Comparison } from '../../legacy-adapter/shadow/compare.ts';
import { closeKafkaHelpers, createTopic, kafkaBrokers, produce } from '../helpers/kafka.ts';
import { listen, type TestServer } from '../helpers/sse-client.ts';
import { pollForValue } from '../helpers/wait.ts';
import { call, type Reply, renamedOrderIdContract, stable } from '../unit/legacy-fixture.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROUTE = '/api/live-map.json';
const TOKEN = 'legacy-it-admin-token-0123456789';
const WAIT_MS = 30_000;

/** Polls `probe` until it returns a value (not undefined), or fails after `ms`. */
const pollUntil = <T>(what: string, probe: () => Promise<T | undefined>, ms = WAIT_MS): Promise<T> =>
  pollForValue(what, probe, { timeoutMs: ms, intervalMs: 50 });

/** Spawns the reference backend process; resolves with its base URL once it listens. */
async function spawnBackend(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--import', 'tsx', 'legacy-adapter/reference-backend/main.ts'], {
    cwd: ROOT,
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`backend did not start:\n${err}`)), WAIT_MS);
    child.once('exit', (code) => reject(new Error(`backend exited (${code}):\n${err}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-8000);
      const line = out.split('\n').find((l) => l.includes('"event":"listening"'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

describe('legacy routes with the real broker and the reference backend as a process', {
  timeout: 240_000,
}, () => {
  let ctx: Switchyard;
  let server: TestServer;
  let backend: { child: ChildProcess; url: string };
  let ordersTopic: string;
  let totalsTopic: string;
  const gen = new LiveMapGenerator(seededRandom(42));
  let clock = Date.now();
  const url = () => server.url;

  /** Produces n orders and their totals, and waits until the gateway applied them. */
  async function produceOrders(n: number): Promise<void> {
    const orders = [];
    const totals = [];
    for (let i = 0; i < n; i++) {
      // Stamped like live data: creation time now (strictly increasing).
      clock = Math.max(clock + 1, Date.now());
      const { order, total } = gen.next(clock);
      orders.push({ key: order.id, value: JSON.stringify(order), timestamp: order.createdAt });
      totals.push({ key: total.country, value: JSON.stringify(total), timestamp: order.createdAt });
    }
    const want = ctx ? ctx.cache.sequence + 2 * n : 0;
    await produce(ordersTopic, orders);
    await produce(totalsTopic, totals);
    if (ctx) {
      assert.ok(
        await ctx.hub.waitUntil(() => ctx.cache.sequence >= want, WAIT_MS),
        'gateway applied the orders',
      );
    }
  }

  const put = (body: unknown, token: string | null = TOKEN) =>
    call(`${url()}/v1/admin/routes/live-map`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  /** The next shadow comparison finished by the gateway. */
  const nextComparison = () =>
    new Promise<Comparison>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no comparison')), WAIT_MS);
      const off = ctx.legacy.onComparison((c) => {
        clearTimeout(timer);
        off();
        resolve(c);
      });
    });

  before(async () => {
    ordersTopic = await createTopic('legacy-orders');
    totalsTopic = await createTopic('legacy-totals', { compacted: true });
    await produceOrders(150);
    backend = await spawnBackend({
      PORT: '0',
      KAFKA_BROKERS: kafkaBrokers().join(','),
      ORDERS_TOPIC: ordersTopic,
      TOTALS_TOPIC: totalsTopic,
      REFRESH_MS: '500',
      LOG_LEVEL: 'warn',
    });
    const config = loadConfig({
      KAFKA_BROKERS: kafkaBrokers().join(','),
      STREAMS: `orders:feed:${ordersTopic},totals:table:${totalsTopic}`,
      LEGACY_URL: backend.url,
      LEGACY_ROUTES: `live-map:${ROUTE}:proxy`,
      LEGACY_TIMEOUT_MS: '3000',
      ADMIN_TOKEN: TOKEN,
      // Route modes are fleet state kept in the control topic: a topic of its own, so that no
      // earlier run's modes apply.
      ROLLOUT_TOPIC: `${ordersTopic}.control`,
      ROLLOUT_CREATE_TOPIC: 'true',
    });
    ctx = createGateway(config, {
      logger: createLogger('silent'),
      metrics: new GatewayMetrics({ defaultMetrics: false }),
      legacyContracts: { ...CONTRACTS, 'live-map-broken': renamedOrderIdContract },
    });
    await startGateway(ctx);
    server = await listen(createApp(ctx));
    assert.ok(await ctx.hub.waitUntil(() => ctx.cache.isReady(), WAIT_MS), 'gateway ready');
    // The backend answers 503 until its consumer has loaded the topics.
    await pollUntil('the backend report', async () => {
      const r = await call(`${backend.url}${ROUTE}`);
      return r.status === 200 && JSON.parse(r.text).recent_orders.length === 50 ? r : undefined;
    });
  });

  after(async () => {
    await server?.close();
    if (ctx) await stopGateway(ctx);
    if (backend) await stopChild(backend.child);
    await closeKafkaHelpers();
  });

  test('proxy: byte-identical to the backend, headers and gzip included', async () => {
    for (const headers of [{}, { 'accept-encoding': 'gzip' }] as Record<string, string>[]) {
      // The backend re-renders every 500 ms; compare an answer pair of the same version (ETag).
      const [proxied, direct] = await pollUntil('a same-version pair', async () => {
        const p = await call(`${url()}${ROUTE}`, { headers });
        const d = await call(`${backend.url}${ROUTE}`, { headers });
        return p.headers.etag === d.headers.etag ? ([p, d] as [Reply, Reply]) : undefined;
      });
      assert.equal(proxied.status, 200);
      assert.ok(proxied.body.equals(direct.body), 'byte-identical body');
      for (const h of ['etag', 'cache-control', 'content-type', 'content-length', 'content-encoding', 'vary'])
        assert.equal(proxied.headers[h], direct.headers[h], h);
    }
  });

  test('serve: deep-equal to the backend once both caught up, in the declared shape', async () => {
    assert.equal((await put({ mode: 'serve' })).status, 200);
    const [served, legacy] = await pollUntil('serve == backend', async () => {
      const s = await call(`${url()}${ROUTE}`);
      const l = await call(`${backend.url}${ROUTE}`);
      return JSON.stringify(stable(s.text)) === JSON.stringify(stable(l.text))
        ? ([s, l] as [Reply, Reply])
        : undefined;
    });
    assert.deepEqual(stable(served.text), stable(legacy.text));
    assert.equal(served.headers['x-switchyard-source'], 'cache');
    assert.equal(served.headers['cache-control'], legacy.headers['cache-control']);
    liveMapShape.parse(JSON.parse(served.text));
    const nm = await call(`${url()}${ROUTE}`, { headers: { 'if-none-match': String(served.headers.etag) } });
    assert.equal(nm.status, 304);
  });

  test('shadow: a renamed field is structural', async () => {
    assert.equal((await put({ mode: 'shadow', sampleRate: 1, contract: 'live-map-broken' })).status, 200);
    const compared = nextComparison();
    assert.equal((await call(`${url()}${ROUTE}`)).status, 200);
    const c = await compared;
    assert.equal(c.outcome, 'structural');
    assert.ok(c.structural.some((s) => s.path === 'recent_orders[].order_id' && s.kind === 'missing'));
    assert.ok(c.structural.some((s) => s.path === 'recent_orders[].orderId' && s.kind === 'extra'));
  });

  test('shadow: data moving on is drift with the cache ahead, never structural', async () => {
    assert.equal((await put({ contract: 'live-map' })).status, 200);
    const seen: Comparison[] = [];
    // New orders reach the gateway within ms; the backend shows them only at its next refresh.
    for (let i = 0; i < 20 && !seen.some((c) => c.outcome === 'drift'); i++) {
      await produceOrders(3);
      const compared = nextComparison();
      await call(`${url()}${ROUTE}`);
      seen.push(await compared);
    }
    assert.ok(seen.length > 0);
    for (const c of seen) {
      assert.deepEqual(c.structural, [], 'drift must never be reported as structural');
      assert.ok(c.outcome === 'drift' || c.outcome === 'match', c.outcome);
      if (c.outcome === 'drift')
        assert.equal(c.explained, true, `drift explained by newer data: ${JSON.stringify(c.aheadByStream)}`);
    }
    const drift = seen.find((c) => c.outcome === 'drift');
    assert.ok(drift, 'some comparison caught the backend behind');
    assert.ok((drift.cacheAheadMs ?? 0) > 0, `cache ahead: ${drift.cacheAheadMs}`);
    const log = JSON.parse(
      (await call(`${url()}/v1/admin/shadow?limit=1`, { headers: { authorization: `Bearer ${TOKEN}` } }))
        .text,
    );
    assert.equal(log.mismatches[0].outcome, 'drift');
    assert.ok(log.mismatches[0].legacyBody.length > 0 && log.mismatches[0].renderedBody.length > 0);
  });

  test('a mode switch takes effect on the next request', async () => {
    await put({ mode: 'serve' });
    assert.equal((await call(`${url()}${ROUTE}`)).headers['x-switchyard-source'], 'cache');
    await put({ mode: 'proxy' });
    const proxied = await call(`${url()}${ROUTE}`);
    assert.equal(proxied.headers['x-switchyard-source'], undefined);
    assert.match(String(proxied.headers.etag), /^"/, "the backend's own ETag");
  });

  test('admin: 401 without the token and nothing changes; 400 naming a bad mode or contract', async () => {
    assert.equal((await put({ mode: 'serve' }, null)).status, 401);
    const bad = await put({ mode: 'mirror', contract: 'nope' });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /unknown mode \\"mirror\\"/);
    assert.match(bad.text, /unknown contract \\"nope\\"/);
    const routes = JSON.parse(
      (await call(`${url()}/v1/admin/routes`, { headers: { authorization: `Bearer ${TOKEN}` } })).text,
    );
    assert.equal(routes.routes[0].mode, 'proxy');
  });

  test('backend down: 502 JSON in proxy, answered from the cache in serve', async () => {
    await stopChild(backend.child, 'SIGKILL');
    const down = await call(`${url()}${ROUTE}`);
    assert.equal(down.status, 502);
    assert.equal(JSON.parse(down.text).error.code, 'UPSTREAM_UNAVAILABLE');
    await put({ mode: 'serve' });
    const served = await call(`${url()}${ROUTE}`);
    assert.equal(served.status, 200);
    assert.equal(served.headers['x-switchyard-source'], 'cache');
    assert.equal(liveMapShape.parse(JSON.parse(served.text)).recent_orders.length, 50);
  });
});
