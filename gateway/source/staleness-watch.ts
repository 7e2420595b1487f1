import type { GatewayContext } from '../context.ts';
import { encodeJsonEvent } from '../sse/encoder.ts';

/** How often the source's freshness is checked for a change (one timer per gateway). */
const CHECK_MS = 500;

/** The `status` event payload: whether the served data may be incomplete, and for how long. */
export function statusJson(ctx: GatewayContext): string {
  const f = ctx.freshness();
  return JSON.stringify({ stale: f.stale, staleMs: f.stale ? f.sinceFetchMs : 0, serverTime: ctx.now() });
}

/** A framed `status` event (no id: it does not move the client's resume point). */
export function statusEvent(ctx: GatewayContext): string {
  return encodeJsonEvent('status', undefined, statusJson(ctx));
}

const watches = new WeakMap<GatewayContext, NodeJS.Timeout>();

/**
 * Tells open streams when the source goes stale and when it is fresh again: a `status` event
 * broadcast on each transition (`{"stale":true,"staleMs":...}` / `{"stale":false,...}`), and a
 * log line. Streams opened while stale get the event with their snapshot (stream-route.ts).
 * Idempotent; stopped by stopStalenessWatch (stopGateway).
 */
export function startStalenessWatch(ctx: GatewayContext): void {
  if (watches.has(ctx)) return;
  // Nothing is announced before the bootstrap: streams are not served yet, and "never fetched"
  // at start-up is not an outage.
  let stale = false;
  const timer = setInterval(() => {
    if (!ctx.cache.isReady()) return;
    const f = ctx.freshness();
    if (f.stale === stale) return;
    stale = f.stale;
    if (stale) ctx.logger.warn({ sinceFetchMs: f.sinceFetchMs }, 'source is stale: serving the last state');
    else ctx.logger.info('source is fresh again');
    ctx.hub.broadcast('status', statusJson(ctx));
  }, CHECK_MS);
  timer.unref();
  watches.set(ctx, timer);
}

/** Stops the watch of a gateway; idempotent. */
export function stopStalenessWatch(ctx: GatewayContext): void {
  clearInterval(watches.get(ctx));
  watches.delete(ctx);
}
