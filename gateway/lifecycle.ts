import type { Server } from 'node:http';
import type { GatewayContext } from './context.ts';
import { stopGateway } from './gateway.ts';
import { encodeJsonEvent, encodeRetry } from './sse/encoder.ts';

export interface ShutdownOptions {
  /** Window over which open streams are closed (spread, not all at once). */
  drainMs: number;
  /** Base retry hint sent to closing streams, jittered per client. */
  retryMs: number;
}

const inFlight = new WeakMap<GatewayContext, Promise<void>>();

/**
 * Ordered, idempotent shutdown (every caller awaits the same run):
 * 1. mark draining: /readyz -> 503 and new streams -> 503 with Retry-After;
 * 2. stop accepting connections; idle keep-alive sockets close, in-flight polls finish;
 * 3. close open streams gradually over the drain window, each told to come back after a
 *    jittered delay, so the reconnects spread instead of spiking on the other instances;
 * 4. stop the source and the timers; 5. wait for the server to close (bounded by the window).
 */
export function shutdown(ctx: GatewayContext, server: Server | null, opts: ShutdownOptions): Promise<void> {
  let run = inFlight.get(ctx);
  if (!run) {
    run = doShutdown(ctx, server, opts);
    inFlight.set(ctx, run);
  }
  return run;
}

async function doShutdown(ctx: GatewayContext, server: Server | null, opts: ShutdownOptions): Promise<void> {
  ctx.state.draining = true;
  ctx.logger.info({ streams: ctx.hub.size, drainMs: opts.drainMs }, 'shutting down');
  const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
  server?.closeIdleConnections();
  await drainStreams(ctx, opts);
  await stopGateway(ctx);
  server?.closeIdleConnections();
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, Math.max(1000, opts.drainMs)).unref());
  await Promise.race([closed, deadline]);
  server?.closeAllConnections();
  ctx.logger.info('shutdown complete');
}

/** Closes every stream, spread uniformly over the window in a random order (one timer). */
export function drainStreams(ctx: GatewayContext, opts: ShutdownOptions): Promise<void> {
  const subs = [...ctx.hub.subscribers()];
  for (let i = subs.length - 1; i > 0; i--) {
    const j = Math.floor(ctx.random() * (i + 1));
    [subs[i], subs[j]] = [subs[j]!, subs[i]!];
  }
  const total = subs.length;
  if (total === 0) return Promise.resolve();
  const farewell = (): string =>
    encodeRetry(Math.round(opts.retryMs * (0.5 + ctx.random()))) +
    encodeJsonEvent('shutdown', undefined, JSON.stringify({ code: 'SHUTTING_DOWN', reconnect: true }));
  if (opts.drainMs <= 0) {
    for (const s of subs) s.end(farewell());
    return Promise.resolve();
  }
  const tickMs = Math.max(10, Math.min(100, opts.drainMs / 20));
  const started = ctx.now();
  let next = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.ceil((total * (ctx.now() - started + tickMs)) / opts.drainMs));
      while (next < due) subs[next++]!.end(farewell());
      if (next >= total) {
        clearInterval(timer);
        resolve();
      }
    }, tickMs);
  });
}
