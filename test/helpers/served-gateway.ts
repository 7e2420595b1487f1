/**
 * An in-process gateway served over a real socket for a test: createApp(ctx) on 127.0.0.1 port 0,
 * with one idempotent `stop()` (open sockets destroyed, server closed, gateway stopped) that is
 * also registered on `t.after`.
 */
import assert from 'node:assert/strict';
import type { GatewayContext } from '../../gateway/context.ts';
import { type AppExtensions, createApp } from '../../gateway/http/app.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import {
  createGateway,
  type Switchyard,
  type SwitchyardConfig,
  type SwitchyardOverrides,
  startGateway,
  stopGateway,
} from '../../gateway/switchyard.ts';
import { listen, type Teardown, type TestServer } from './sse-client.ts';

/** A gateway listening for a test; `stop()` is safe to call more than once. */
export interface ServedGateway<C extends GatewayContext = GatewayContext> {
  readonly ctx: C;
  readonly server: TestServer;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Closes the server (destroying open streams), then stops the gateway; once. */
  stop(): Promise<void>;
}

/**
 * Serves an already built gateway (started or not: the caller starts it, before or after) and
 * registers its `stop()` on `t.after`; registered after listen(), so the sockets go first.
 */
export async function serveGateway<C extends GatewayContext>(
  t: Teardown,
  ctx: C,
  ext: AppExtensions = {},
): Promise<ServedGateway<C>> {
  const server = await listen(createApp(ctx, ext));
  let stopping: Promise<void> | null = null;
  const stop = () => {
    stopping ??= server.close().then(() => stopGateway(ctx));
    return stopping;
  };
  t.after(stop);
  return { ctx, server, url: server.url, stop };
}

/**
 * Builds a Switchyard gateway on `config` (metrics without the process's default collectors,
 * unless `overrides` brings its own), serves it ({@link serveGateway}) and starts it.
 */
export async function startServedGateway(
  t: Teardown,
  config: SwitchyardConfig,
  overrides: SwitchyardOverrides = {},
  ext: AppExtensions = {},
): Promise<ServedGateway<Switchyard>> {
  const ctx = createGateway(config, { metrics: new GatewayMetrics({ defaultMetrics: false }), ...overrides });
  const gw = await serveGateway(t, ctx, ext);
  await startGateway(ctx);
  return gw;
}

/** Asserts that the cache becomes ready within `timeoutMs` (woken by the hub, not polled). */
export async function assertReadyWithin(
  ctx: GatewayContext,
  timeoutMs: number,
  message = 'gateway did not become ready',
): Promise<void> {
  assert.ok(await ctx.hub.waitUntil(() => ctx.cache.isReady(), timeoutMs), message);
}
