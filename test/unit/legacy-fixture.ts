/**
 * A gateway with a legacy route, on a MemorySource, in front of the real reference backend
 * (in-process, on its own port) fed the very same records through a TeeSource. Everything
 * listens on 127.0.0.1 port 0 and is torn down on `t.after`.
 */
import { CONTRACTS } from '../../compat/contracts/index.ts';
import { liveMapContract } from '../../compat/contracts/live-map.ts';
import type { LegacyContract } from '../../compat/contracts/types.ts';
import type { Config } from '../../gateway/config/load.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { LiveMapGenerator, seededRandom } from '../../gateway/source/demo-live-map.ts';
import { MemorySource } from '../../gateway/source/memory-source.ts';
import type { Switchyard } from '../../gateway/switchyard.ts';
import { createGateway, loadConfig, startGateway } from '../../gateway/switchyard.ts';
import { ReferenceBackend } from '../../legacy-adapter/reference-backend/server.ts';
import { LiveMapStore } from '../../legacy-adapter/reference-backend/store.ts';
import type { Comparison } from '../../legacy-adapter/shadow/compare.ts';
import { TeeSource } from '../../legacy-adapter/tee-source.ts';
import { serveGateway } from '../helpers/served-gateway.ts';
import {
  type HttpResult,
  httpRequest,
  type Teardown,
  type TestServer,
  WAIT_GUARD_MS,
} from '../helpers/sse-client.ts';

export const ADMIN_TOKEN = 'legacy-admin-token-0123456789';
export const READ_TOKEN = 'legacy-read-token-0123456789';
export const ROUTE = '/api/live-map.json';
export const ORDERS = 'topic.orders';
export const TOTALS = 'topic.totals';

export interface LegacyFixture {
  readonly config: Config;
  readonly ctx: Switchyard;
  readonly source: MemorySource;
  readonly server: TestServer;
  readonly url: string;
  readonly store: LiveMapStore;
  readonly backend: ReferenceBackend;
  readonly backendUrl: string;
}

export interface LegacyFixtureOptions {
  env?: Record<string, string>;
  contracts?: Readonly<Record<string, LegacyContract>>;
  /** Where the legacy route points; default: the in-process reference backend. */
  legacyUrl?: string;
  now?: () => number;
  random?: () => number;
  /** Start the source (bootstrap) right away; default true. */
  start?: boolean;
}

export async function startLegacyFixture(
  t: Teardown,
  opts: LegacyFixtureOptions = {},
): Promise<LegacyFixture> {
  const store = new LiveMapStore({ ordersTopic: ORDERS, totalsTopic: TOTALS });
  // Refreshed by hand (backend.refresh()) unless a test wants the cadence.
  const backend = new ReferenceBackend(store, { refreshMs: 3_600_000 });
  const port = await backend.listen(0, '127.0.0.1');
  t.after(() => backend.close());
  const backendUrl = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    STREAMS: `orders:feed:${ORDERS},totals:table:${TOTALS}`,
    LEGACY_URL: opts.legacyUrl ?? backendUrl,
    LEGACY_ROUTES: `live-map:${ROUTE}:proxy`,
    ADMIN_TOKEN,
    ADMIN_READ_TOKEN: READ_TOKEN,
    ...opts.env,
  });
  const source = new MemorySource({ streams: config.streams, ...(opts.now ? { now: opts.now } : {}) });
  const ctx = createGateway(config, {
    source: new TeeSource(source, [store]),
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    legacyContracts: opts.contracts ?? CONTRACTS,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.random ? { random: opts.random } : {}),
  });
  const { server } = await serveGateway(t, ctx);
  if (opts.start !== false) await startGateway(ctx);
  return { config, ctx, source, server, url: server.url, store, backend, backendUrl };
}

/** The live-map body the reference contract renders. */
type LiveMapBody = ReturnType<typeof liveMapContract.render>;

/** The reference contract under another `name`, its rendered body passed through `change`. */
export function alteredLiveMap(name: string, change: (body: LiveMapBody) => unknown): LegacyContract {
  return {
    ...(liveMapContract as LegacyContract),
    name,
    render: (view) => change(liveMapContract.render(view)),
  };
}

/**
 * The reference contract with `order_id` renamed (`live-map-broken`): the contract bug (a
 * structural difference) that shadow mode must catch.
 */
export const renamedOrderIdContract = alteredLiveMap('live-map-broken', (body) => ({
  ...body,
  recent_orders: body.recent_orders.map(({ order_id, ...rest }) => ({ orderId: order_id, ...rest })),
}));

/**
 * Produces `n` live-map orders (and the totals they imply) with a seeded generator, stamped from
 * `at` on, 1 ms apart; resolves once the cache (and so the tee'd store) applied them.
 */
export async function produceOrders(
  f: LegacyFixture,
  gen: LiveMapGenerator,
  n: number,
  at: number,
): Promise<void> {
  const target = f.ctx.cache.sequence + 2 * n;
  for (let i = 0; i < n; i++) {
    const { order, total } = gen.next(at + i);
    f.source.produce(ORDERS, [{ key: order.id, value: JSON.stringify(order), timestamp: at + i }]);
    f.source.produce(TOTALS, [{ key: total.country, value: JSON.stringify(total), timestamp: at + i }]);
  }
  await until(() => f.ctx.cache.sequence >= target, `${n} orders applied`);
}

export const generator = (seed = 7) => new LiveMapGenerator(seededRandom(seed));

/** Waits, one event-loop turn at a time, until `cond()` holds. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_GUARD_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** The next comparison the adapter finishes (registered before the request that causes it). */
export function nextComparison(f: LegacyFixture): Promise<Comparison> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('no shadow comparison finished'));
    }, WAIT_GUARD_MS);
    const off = f.ctx.legacy.onComparison((c) => {
      clearTimeout(timer);
      off();
      resolve(c);
    });
  });
}

/** A response read whole by {@link call}. */
export type Reply = HttpResult;

/** One HTTP request on a fresh connection; the whole (raw) body is read. */
export const call = httpRequest;

/** `PUT /v1/admin/routes/:name` with a JSON body. */
export function putRoute(
  f: LegacyFixture,
  body: unknown,
  token: string | null = ADMIN_TOKEN,
  name = 'live-map',
) {
  return call(`${f.url}/v1/admin/routes/${name}`, {
    method: 'PUT',
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A legacy body without its volatile field. */
export function stable(text: string): Record<string, unknown> {
  const { generated_at: _, ...rest } = JSON.parse(text) as Record<string, unknown>;
  return rest;
}
