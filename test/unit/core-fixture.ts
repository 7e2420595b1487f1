/**
 * A whole gateway on a MemorySource, listening on 127.0.0.1 port 0, for the core unit tests:
 * createGateway(loadConfig(env), { source }) + createApp + a tracked server. Everything is
 * torn down on `t.after` (sockets destroyed, server closed, gateway stopped).
 */
import { setImmediate as turn } from 'node:timers/promises';
import type { Config } from '../../gateway/config/load.ts';
import type { GatewayContext } from '../../gateway/context.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { MemorySource } from '../../gateway/source/memory-source.ts';
import { createGateway, loadConfig, startGateway } from '../../gateway/switchyard.ts';
import { serveGateway } from '../helpers/served-gateway.ts';
import { type Teardown, type TestServer, WAIT_GUARD_MS } from '../helpers/sse-client.ts';

export const TEST_STREAMS = 'orders:feed:topic.orders,totals:table:topic.totals';

export interface Fixture {
  readonly config: Config;
  readonly ctx: GatewayContext;
  readonly source: MemorySource;
  readonly server: TestServer;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
}

export interface FixtureOptions {
  env?: Record<string, string>;
  partitions?: number;
  now?: () => number;
  random?: () => number;
  /** Start the source (bootstrap) right away; default true. */
  start?: boolean;
  /** Records already in the topics before start. */
  seed?: (source: MemorySource) => void;
}

export async function startFixture(t: Teardown, opts: FixtureOptions = {}): Promise<Fixture> {
  const config = loadConfig({ LOG_LEVEL: 'silent', STREAMS: TEST_STREAMS, ...opts.env });
  const source = new MemorySource({
    streams: config.streams,
    partitions: opts.partitions ?? 1,
    ...(opts.now ? { now: opts.now } : {}),
  });
  opts.seed?.(source);
  const ctx = createGateway(config, {
    source,
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.random ? { random: opts.random } : {}),
  });
  const { server } = await serveGateway(t, ctx);
  if (opts.start !== false) await startGateway(ctx);
  return { config, ctx, source, server, url: server.url };
}

/**
 * Waits, one event-loop turn at a time, until `cond()` holds (e.g. the cache applied what a
 * test produced). Not a sleep: it returns as soon as the condition is true.
 */
export async function until(cond: () => boolean, what = 'condition', guardMs = WAIT_GUARD_MS): Promise<void> {
  const deadline = Date.now() + guardMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await turn();
  }
}

/** A value JSON for the totals table. */
export const total = (n: number, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ n, ...extra });
