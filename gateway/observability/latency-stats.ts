import type { GatewayMetrics } from './metrics.ts';
import {
  addSeries,
  type BucketSeries,
  histogramQuantile,
  quantileBucket,
  readBuckets,
  subtractSeries,
} from './quantiles.ts';

/** The latency series summarised, and the histogram each comes from. */
export const LATENCY_SERIES = ['poll', 'sse', 'ingest', 'clientPoll', 'clientSse'] as const;
export type LatencySeriesName = (typeof LATENCY_SERIES)[number];

export interface SeriesSummary {
  /** Observations in the period. */
  count: number;
  /** Mean, p50, p95 and p99 in seconds (null without observations). */
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /**
   * The histogram bucket holding each quantile, [lower, upper] in seconds (upper null: beyond
   * the last bound): the figures above are interpolated inside it, so claims ("< 1 ms", "N x
   * sooner") must rest on these bounds, not on the interpolated value.
   */
  buckets: {
    p50: [number, number | null];
    p95: [number, number | null];
    p99: [number, number | null];
  } | null;
}

/** The body of `GET /v1/stats/latency`. */
export interface LatencySummary {
  serverTime: number;
  unit: 'seconds';
  /** Length of the recent period, or null while the gateway has not been asked long enough (since start). */
  windowSeconds: number | null;
  /** Recent period (about the last `windowSeconds`), per series. */
  recent: Record<LatencySeriesName, SeriesSummary>;
  /** Since the gateway started, per series. */
  total: Record<LatencySeriesName, SeriesSummary>;
}

type Snapshot = { t: number; series: Map<LatencySeriesName, BucketSeries> };

/** Bucket counts over the recent window and since start: what workers add up (sum by le). */
export interface LatencyWindow {
  serverTime: number;
  /** Length of the recent window, or null while this process is younger than the window. */
  windowSeconds: number | null;
  recent: Partial<Record<LatencySeriesName, BucketSeries>>;
  total: Partial<Record<LatencySeriesName, BucketSeries>>;
}

/** How often a bucket snapshot is taken, so that the window is the stated one (+ at most this). */
const SNAPSHOT_EVERY_MS = 5000;

/**
 * Summarises the latency histograms of /metrics per transport, with quantiles estimated from
 * the bucket counts as PromQL's histogram_quantile does, over a recent window (the difference
 * between now and the newest bucket snapshot at least `windowMs` old: like `rate(...[1m])`)
 * and since start. Snapshots are taken every 5 s (start()) and when asked, at most one per
 * second, and only those the window needs are kept: bounded memory.
 */
export class LatencyStats {
  private snapshots: Snapshot[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly now: () => number,
    readonly windowMs = 60_000,
  ) {}

  /** Takes a snapshot every 5 s from now on (unref'd timer; stop() ends it). */
  start(): void {
    if (this.timer) return;
    void this.window();
    this.timer = setInterval(() => void this.window(), SNAPSHOT_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async summary(): Promise<LatencySummary> {
    return summariseWindows([await this.window()]);
  }

  /** This process's bucket counts, recent and since start. */
  async window(): Promise<LatencyWindow> {
    const t = this.now();
    const current = await this.read();
    const last = this.snapshots[this.snapshots.length - 1];
    if (!last || t - last.t >= 1000) this.snapshots.push({ t, series: current });
    // Base: the newest snapshot at least a window old; older ones are no longer needed.
    let base: Snapshot | undefined;
    for (const s of this.snapshots) if (s.t <= t - this.windowMs) base = s;
    if (base) this.snapshots = this.snapshots.filter((s) => s.t >= base.t);
    const recent: LatencyWindow['recent'] = {};
    const total: LatencyWindow['total'] = {};
    for (const name of LATENCY_SERIES) {
      const cur = current.get(name);
      if (!cur) continue;
      total[name] = cur;
      recent[name] = subtractSeries(cur, base?.series.get(name));
    }
    return {
      serverTime: t,
      windowSeconds: base ? Math.round((t - base.t) / 100) / 10 : null,
      recent,
      total,
    };
  }

  private async read(): Promise<Map<LatencySeriesName, BucketSeries>> {
    const m = this.metrics;
    const transport = (prefix: 'client' | '') => (l: { transport?: string | number }) => {
      if (l.transport === 'poll') return prefix ? 'clientPoll' : 'poll';
      if (l.transport === 'sse') return prefix ? 'clientSse' : 'sse';
      return null;
    };
    const [delivery, client, ingest] = await Promise.all([
      readBuckets(m.deliveryLatency, transport('')),
      readBuckets(m.clientLatency, transport('client')),
      readBuckets(m.ingestLatency, () => 'ingest'),
    ]);
    return new Map([...delivery, ...client, ...ingest]) as Map<LatencySeriesName, BucketSeries>;
  }
}

/**
 * The summary of several processes' windows (the workers of one instance): bucket counts added
 * up, then quantiles over the sums, as `histogram_quantile(q, sum by (le) (...))` does. The window
 * is the longest of theirs (they differ by at most one snapshot interval), or null if any is young.
 */
export function summariseWindows(windows: readonly LatencyWindow[]): LatencySummary {
  const add = (pick: (w: LatencyWindow) => BucketSeries | undefined): BucketSeries | undefined => {
    let acc: BucketSeries | undefined;
    for (const w of windows) {
      const s = pick(w);
      if (s) acc = acc ? addSeries(acc, s) : s;
    }
    return acc;
  };
  const recent = {} as Record<LatencySeriesName, SeriesSummary>;
  const total = {} as Record<LatencySeriesName, SeriesSummary>;
  for (const name of LATENCY_SERIES) {
    recent[name] = summarise(add((w) => w.recent[name]));
    total[name] = summarise(add((w) => w.total[name]));
  }
  const young = windows.length === 0 || windows.some((w) => w.windowSeconds === null);
  return {
    serverTime: Math.max(0, ...windows.map((w) => w.serverTime)),
    unit: 'seconds',
    windowSeconds: young ? null : Math.max(...windows.map((w) => w.windowSeconds ?? 0)),
    recent,
    total,
  };
}

function summarise(s: BucketSeries | undefined): SeriesSummary {
  const count = s ? (s.cumulative[s.cumulative.length - 1] ?? 0) : 0;
  if (!s || count === 0) return { count: 0, mean: null, p50: null, p95: null, p99: null, buckets: null };
  const range = (q: number): [number, number | null] => {
    const [lo, hi] = quantileBucket(q, s) ?? [0, null];
    return [lo, hi !== null && Number.isFinite(hi) ? hi : null];
  };
  return {
    count,
    mean: s.sum / count,
    p50: histogramQuantile(0.5, s),
    p95: histogramQuantile(0.95, s),
    p99: histogramQuantile(0.99, s),
    buckets: { p50: range(0.5), p95: range(0.95), p99: range(0.99) },
  };
}
