import type { StreamConfig } from '../config/streams.ts';
import type { Logger } from '../observability/logger.ts';
import type { StaleStreamStatus, StatusEventData } from '../protocol/types.ts';
import type { Service } from '../service.ts';
import type { RecordSource } from './types.ts';

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

/** What the freshness of the served data is read from. */
export interface FreshnessView {
  readonly config: { readonly streams: readonly Pick<StreamConfig, 'name' | 'topic'>[] };
  readonly source: Pick<RecordSource, 'status'>;
  now(): number;
  /** Whether the source has gone quiet for longer than STALE_AFTER_MS. */
  freshness(): { stale: boolean; sinceFetchMs: number | null };
}

/** Streams whose topic is in trouble (KafkaSource isolates topics: see docs/kafka-records.md). */
export function staleStreams(ctx: Omit<FreshnessView, 'freshness'>): StaleStream[] {
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
 * The `status` event's data (protocol/types.ts), for the wire builders of protocol/: whether the
 * served data may be incomplete, and for how long; `streams` names the streams that are stale on
 * their own (reason, detail, staleMs), `{}` if none.
 */
export function statusData(ctx: FreshnessView): StatusEventData {
  const f = ctx.freshness();
  const streams: Record<string, StaleStreamStatus> = {};
  for (const s of staleStreams(ctx))
    streams[s.stream] = { reason: s.reason, detail: s.detail, staleMs: s.staleMs };
  return { stale: f.stale, staleMs: f.stale ? f.sinceFetchMs : 0, serverTime: ctx.now(), streams };
}

/**
 * Watches the freshness of the served data and reports each transition: when the source goes
 * stale and when it is fresh again (with a log line), and when the set of streams stale on their
 * own changes. It reports to `onChange` listeners (the SSE layer broadcasts a `status` event);
 * it knows nothing of the transports. Streams opened while stale get the status with their
 * snapshot (sse/stream-route.ts).
 */
export class StalenessWatch implements Service {
  readonly name = 'staleness-watch';
  private timer: NodeJS.Timeout | null = null;
  private readonly listeners: Array<() => void> = [];

  constructor(
    private readonly view: FreshnessView & { readonly cache: { isReady(): boolean } },
    private readonly logger: Logger,
    private readonly checkMs = CHECK_MS,
  ) {}

  /** Calls `listener` after each transition (from the watch's timer). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  start(): void {
    if (this.timer) return;
    const { view, logger } = this;
    // Nothing is announced before the bootstrap: streams are not served yet, and "never fetched"
    // at start-up is not an outage.
    let stale = false;
    let troubled = '';
    this.timer = setInterval(() => {
      if (!view.cache.isReady()) return;
      const f = view.freshness();
      // Streams stale on their own are logged by the source (one line per change, with the reason).
      const nowTroubled = staleStreams(view)
        .map((s) => `${s.stream}:${s.reason}`)
        .join(',');
      if (f.stale === stale && nowTroubled === troubled) return;
      if (f.stale !== stale) {
        if (f.stale) logger.warn({ sinceFetchMs: f.sinceFetchMs }, 'source is stale: serving the last state');
        else logger.info('source is fresh again');
      }
      stale = f.stale;
      troubled = nowTroubled;
      for (const l of this.listeners) l();
    }, this.checkMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
