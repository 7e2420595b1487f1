import type { GatewayContext } from '../context.ts';
import { EVENT, statusEvent as frameStatus } from '../protocol/events.ts';
import { statusJson as renderStatus } from '../protocol/json.ts';
import type { StaleStreamStatus, StatusEventData } from '../protocol/types.ts';

/** How often the source's freshness is checked for a change (one timer per gateway). */
const CHECK_MS = 500;

/** A stream whose topic alone cannot be read (the others can): why, and since when. */
export interface StaleStream {
  stream: string;
  topic: string;
  reason: string;
  detail: string;
  staleMs: number;
}

/** Streams whose topic is in trouble (KafkaSource isolates topics: see docs/kafka-records.md). */
export function staleStreams(ctx: GatewayContext): StaleStream[] {
  const troubled = ctx.source.status().staleTopics;
  if (!troubled || troubled.size === 0) return [];
  const now = ctx.now();
  const out: StaleStream[] = [];
  for (const s of ctx.config.streams) {
    const t = troubled.get(s.topic);
    if (t)
      out.push({
        stream: s.name,
        topic: s.topic,
        reason: t.reason,
        detail: t.detail,
        staleMs: now - t.since,
      });
  }
  return out;
}

/**
 * The `status` event payload: whether the served data may be incomplete, and for how long;
 * `streams` names the streams that are stale on their own (reason, detail, staleMs), `{}` if none.
 */
export function statusJson(ctx: GatewayContext): string {
  return renderStatus(statusData(ctx));
}

function statusData(ctx: GatewayContext): StatusEventData {
  const f = ctx.freshness();
  const streams: Record<string, StaleStreamStatus> = {};
  for (const s of staleStreams(ctx))
    streams[s.stream] = { reason: s.reason, detail: s.detail, staleMs: s.staleMs };
  return { stale: f.stale, staleMs: f.stale ? f.sinceFetchMs : 0, serverTime: ctx.now(), streams };
}

/** A framed `status` event (no id: it does not move the client's resume point). */
export function statusEvent(ctx: GatewayContext): string {
  return frameStatus(statusData(ctx));
}

const watches = new WeakMap<GatewayContext, NodeJS.Timeout>();

/**
 * Tells open streams when the source goes stale and when it is fresh again: a `status` event
 * broadcast on each transition (`{"stale":true,"staleMs":...}` / `{"stale":false,...}`), and a
 * log line; also when the set of streams stale on their own changes (`streams` member). Streams opened while stale get the event with their snapshot (stream-route.ts).
 * Idempotent; stopped by stopStalenessWatch (stopGateway).
 */
export function startStalenessWatch(ctx: GatewayContext): void {
  if (watches.has(ctx)) return;
  // Nothing is announced before the bootstrap: streams are not served yet, and "never fetched"
  // at start-up is not an outage.
  let stale = false;
  let troubled = '';
  const timer = setInterval(() => {
    if (!ctx.cache.isReady()) return;
    const f = ctx.freshness();
    // Streams stale on their own are logged by the source (one line per change, with the reason).
    const nowTroubled = staleStreams(ctx)
      .map((s) => `${s.stream}:${s.reason}`)
      .join(',');
    if (f.stale === stale && nowTroubled === troubled) return;
    if (f.stale !== stale) {
      if (f.stale)
        ctx.logger.warn({ sinceFetchMs: f.sinceFetchMs }, 'source is stale: serving the last state');
      else ctx.logger.info('source is fresh again');
    }
    stale = f.stale;
    troubled = nowTroubled;
    ctx.hub.broadcast(EVENT.status, statusJson(ctx));
  }, CHECK_MS);
  timer.unref();
  watches.set(ctx, timer);
}

/** Stops the watch of a gateway; idempotent. */
export function stopStalenessWatch(ctx: GatewayContext): void {
  clearInterval(watches.get(ctx));
  watches.delete(ctx);
}
