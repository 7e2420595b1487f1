import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { LifecycleState } from './context.ts';
import { stopGateway } from './gateway.ts';
import type { Logger } from './observability/logger.ts';
import { shutdownEvent } from './protocol/events.ts';
import type { Service } from './service.ts';
import type { SseHub } from './sse/hub.ts';
import { jitteredRetryMs } from './util/backoff.ts';

export interface ShutdownOptions {
  /** Window over which open streams are closed (spread, not all at once). */
  drainMs: number;
  /** Base retry hint sent to closing streams, jittered per client. */
  retryMs: number;
}

/** What draining streams reads: the open streams, and the clock and randomness that spread them. */
export interface DrainHost {
  readonly hub: Pick<SseHub, 'subscribers'>;
  readonly now: () => number;
  readonly random: () => number;
}

/** What a shutdown reads and sets: the drain flag, the logger, the streams and the services. */
export interface ShutdownHost extends DrainHost {
  readonly state: LifecycleState;
  readonly logger: Pick<Logger, 'info' | 'debug'>;
  readonly hub: Pick<SseHub, 'subscribers' | 'size'>;
  readonly services: readonly Service[];
}

/** Share of the drain window over which streams are closed; the rest is the tail for the others. */
export const STREAM_DRAIN_SHARE = 0.8;
/** Shortest hard bound for a shutdown, even with SHUTDOWN_DRAIN_MS=0 (in-flight polls finish). */
const MIN_SHUTDOWN_MS = 1000;

/**
 * Ordered, idempotent shutdown (every caller awaits the same run), finished within the drain
 * window (`drainMs`, at least 1 s):
 * 1. mark draining: /readyz -> 503 and new streams -> 503 SHUTTING_DOWN with a jittered
 *    Retry-After (NGINX retries them on another instance); every response from now on closes
 *    its connection, so proxies stop reusing keep-alive connections to this instance. Polls are
 *    still served: the data is as good as ever;
 * 2. close open streams gradually over the first 80 % of the window, in random order, each told
 *    to come back after a jittered `retry:`, so the reconnects spread over the other instances
 *    instead of spiking;
 * 3. stop listening (idle keep-alive sockets close, in-flight polls finish), stop the source
 *    and the timers;
 * 4. when the window ends, cut whatever is left.
 */
export function shutdown(ctx: ShutdownHost, server: Server | null, opts: ShutdownOptions): Promise<void> {
  ctx.state.shutdown ??= doShutdown(ctx, server, opts);
  return ctx.state.shutdown;
}

async function doShutdown(ctx: ShutdownHost, server: Server | null, opts: ShutdownOptions): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const windowEnd = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(MIN_SHUTDOWN_MS, opts.drainMs));
  });
  ctx.state.draining = true;
  server?.prependListener('request', closeAfterResponse);
  ctx.logger.info({ streams: ctx.hub.size, drainMs: opts.drainMs }, 'shutting down');
  await Promise.race([drainStreams(ctx, { ...opts, drainMs: opts.drainMs * STREAM_DRAIN_SHARE }), windowEnd]);
  const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
  server?.closeIdleConnections();
  const stopped = stopGateway(ctx).then(() => ctx.logger.debug('source and timers stopped'));
  const idle = closed.then(() => ctx.logger.debug('server closed'));
  await Promise.race([Promise.all([stopped, idle]), windowEnd]);
  clearTimeout(timer);
  server?.closeAllConnections();
  ctx.logger.info('shutdown complete');
}

/** While draining, each response ends its connection (`Connection: close`). */
function closeAfterResponse(_req: IncomingMessage, res: ServerResponse): void {
  if (!res.headersSent) res.setHeader('Connection', 'close');
}

/** Closes every stream, spread uniformly over the window in a random order (one timer). */
export function drainStreams(ctx: DrainHost, opts: ShutdownOptions): Promise<void> {
  const subs = [...ctx.hub.subscribers()];
  for (let i = subs.length - 1; i > 0; i--) {
    const j = Math.floor(ctx.random() * (i + 1));
    [subs[i], subs[j]] = [subs[j]!, subs[i]!];
  }
  const total = subs.length;
  if (total === 0) return Promise.resolve();
  const farewell = (): string => shutdownEvent(jitteredRetryMs(opts.retryMs, ctx.random));
  if (opts.drainMs <= 0) {
    for (const s of subs) s.end(farewell());
    return Promise.resolve();
  }
  // Short ticks: each closes only a few streams, so the closes (and reconnects) do not clump.
  const tickMs = Math.max(10, Math.min(25, opts.drainMs / 100));
  const started = ctx.now();
  let next = 0;
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.ceil((total * (ctx.now() - started + tickMs)) / opts.drainMs));
      while (next < due) subs[next++]!.end(farewell());
      if (next >= total) {
        clearInterval(timer);
        // Streams that were still opening when the drain began are told too.
        for (const s of [...ctx.hub.subscribers()]) s.end(farewell());
        resolve();
      }
    }, tickMs);
  });
}
