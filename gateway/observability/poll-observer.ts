import type { Selection } from '../cache/selection.ts';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import type { StreamState } from '../cache/stream-state.ts';
import { header, type RequestView } from '../http/request-view.ts';
import { WindowedDistinctCounter } from './distinct-counter.ts';
import type { GatewayMetrics } from './metrics.ts';
import { RecentUpdates } from './recent-updates.ts';

export interface PollObserverOptions {
  cache: SnapshotCache;
  metrics: GatewayMetrics;
  now: () => number;
  /** The advertised poll interval: the window of the pollers count. */
  pollIntervalMs: number;
  /**
   * Updates remembered per table stream (default 16384: 1,600 updates/s at a 10 s interval);
   * feed streams remember their `maxItems`, all a poll response can carry.
   */
  ringSize?: number;
  /** At most this many observations per stream per response (uniformly sampled beyond it). */
  maxSamplesPerStream?: number;
}

/**
 * What the polling transport delivers, as metrics:
 * - `switchyard_pollers`: distinct clients per poll interval, in fixed memory;
 * - `switchyard_delivery_latency_seconds{transport="poll"}`: for each update a poll response
 *   carries to a client for the first time, creation -> that response. What the client had is
 *   read from its `If-None-Match` (the ETag is the position it already has), so no per-client
 *   state is kept. A first load (no ETag) is not a delivery of anything new: not observed.
 * Each stream's recent updates are kept in a ring (its own, so HISTORY_SIZE=0 still measures),
 * and the updates after the client's position are found by binary search: the work per response
 * is O(log ring + samples), never O(updates missed), and no body is parsed.
 */
export class PollObserver {
  private readonly rings = new Map<StreamState, RecentUpdates>();
  private readonly clients: WindowedDistinctCounter;
  private readonly maxSamples: number;
  private readonly now: () => number;
  private readonly pollLatency: ReturnType<GatewayMetrics['deliveryLatency']['labels']>;

  constructor(opts: PollObserverOptions) {
    this.now = opts.now;
    this.maxSamples = opts.maxSamplesPerStream ?? 64;
    this.clients = new WindowedDistinctCounter(opts.pollIntervalMs);
    this.pollLatency = opts.metrics.deliveryLatency.labels('poll');
    const size = opts.ringSize ?? 16_384;
    // A feed shows only its newest maxItems: older updates were never delivered by any poll.
    for (const s of opts.cache.streams.values())
      this.rings.set(s, new RecentUpdates(s.feed ? Math.min(size, s.config.maxItems) : size));
    opts.cache.onUpdates((batch) => {
      for (const u of batch) this.rings.get(u.stream)?.push(u);
    });
    opts.metrics.beforeScrape.push(() => opts.metrics.pollers.set(this.pollers()));
    opts.metrics.pollerSketch = () => this.clients.sketch(this.now());
  }

  /**
   * Call once per poll answered from the snapshot (200 or 304): counts the client, and on a
   * 200 to a GET observes the delivery latency of what was new to it.
   */
  answered(req: RequestView, selection: Selection, status: number): void {
    const now = this.now();
    this.clients.add(pollerKey(req), now);
    if (status !== 200 || req.method !== 'GET') return;
    const cursor = etagCursor(header(req, 'if-none-match'));
    if (cursor === null) return;
    const parsed = selection.parseCursor(cursor);
    // Another selection's ETag, or garbage: we cannot know what the client had.
    if (parsed.kind !== 'ok') return;
    this.observe(selection, parsed.cursors, now);
  }

  /** Distinct polling clients in the last poll interval (estimate). */
  pollers(): number {
    return this.clients.estimate(this.now());
  }

  /**
   * Observes, per stream of the selection, creation -> `now` for the updates after `cursors`
   * that the current snapshot still shows (a table row overwritten since was never delivered),
   * sampling at most maxSamples per stream, evenly spread over the missed range.
   */
  observe(selection: Selection, cursors: readonly (readonly number[])[], now: number): void {
    selection.streams.forEach((s, i) => {
      const ring = this.rings.get(s);
      const cursor = cursors[i];
      if (!ring || !cursor) return;
      const first = ring.firstAfter(cursor);
      const missed = ring.size - first;
      if (missed <= 0) return;
      const take = Math.min(missed, this.maxSamples);
      for (let k = 0; k < take; k++) {
        const j = take === missed ? first + k : first + Math.floor(((k + 0.5) * missed) / take);
        if (!ring.isAfter(j, cursor) || !stillShown(s, ring, j)) continue;
        this.pollLatency.observe(Math.max(0, now - ring.createdAt(j)) / 1000);
      }
    });
  }
}

/** Whether update `j` of the ring is what the snapshot shows now (feeds: always). */
function stillShown(s: StreamState, ring: RecentUpdates, j: number): boolean {
  if (!s.table) return true;
  const key = ring.keyAt(j);
  if (key === null) return false;
  const row = s.table.peek(key);
  const partition = ring.partitionAt(j);
  const offset = ring.offsetAt(j);
  if (ring.isDelete(j)) return row === undefined || row.partition !== partition || row.offset < offset;
  return row !== undefined && row.partition === partition && row.offset === offset;
}

/**
 * The event id inside an `If-None-Match` (`W/"<id>"`), or null. Only the first entry of a
 * list is read: browsers and the client kit send one.
 */
export function etagCursor(header: string | undefined): string | null {
  if (!header) return null;
  const first = header.split(',', 1)[0]!.trim();
  const m = /^(?:W\/)?"([^"]{1,2048})"$/.exec(first);
  return m ? m[1]! : null;
}

/**
 * Who a poller is, for counting only (hashed into a bitmap, never a label): the connection
 * (address and port, stable across keep-alive polls) when the client connects directly; the
 * forwarded address and User-Agent behind a trusted proxy, whose ports say nothing.
 */
export function pollerKey(req: RequestView): string {
  const socketAddr = req.socket.remoteAddress ?? '';
  const ip = req.ip ?? socketAddr;
  if (ip !== socketAddr) return `${ip} ${header(req, 'user-agent') ?? ''}`;
  return `${socketAddr}:${req.socket.remotePort ?? 0}`;
}
