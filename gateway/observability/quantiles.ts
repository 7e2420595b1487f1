import type { Histogram } from 'prom-client';

/** Cumulative bucket counts of one histogram series, as Prometheus exposes them. */
export interface BucketSeries {
  /** Finite upper bounds (`le`), ascending. */
  readonly bounds: readonly number[];
  /** Cumulative count per bound, then the `+Inf` count (= total): bounds.length + 1 entries. */
  readonly cumulative: readonly number[];
  readonly sum: number;
}

/**
 * The q-quantile estimated from cumulative bucket counts exactly as PromQL's
 * `histogram_quantile` does (linear interpolation inside the bucket, the first bucket starting
 * at 0, a rank in the `+Inf` bucket answered with the highest finite bound), so this gateway's
 * own figures and a Grafana panel over the same buckets agree. null when there is no data.
 */
export function histogramQuantile(q: number, s: BucketSeries): number | null {
  const total = s.cumulative[s.cumulative.length - 1] ?? 0;
  if (total <= 0 || s.bounds.length === 0) return null;
  if (q <= 0) return 0;
  if (q >= 1) return s.bounds[s.bounds.length - 1]!;
  const rank = q * total;
  let i = 0;
  while (i < s.bounds.length && s.cumulative[i]! < rank) i++;
  if (i === s.bounds.length) return s.bounds[i - 1]!;
  const upper = s.bounds[i]!;
  const lower = i === 0 ? 0 : s.bounds[i - 1]!;
  const below = i === 0 ? 0 : s.cumulative[i - 1]!;
  const inBucket = s.cumulative[i]! - below;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}

/**
 * The bucket holding the q-quantile: [lower, upper] bounds in seconds (upper Infinity for the
 * `+Inf` bucket). What the histogram can say for sure: the quantile is in there, nothing finer.
 */
export function quantileBucket(q: number, s: BucketSeries): [number, number] | null {
  const total = s.cumulative[s.cumulative.length - 1] ?? 0;
  if (total <= 0 || s.bounds.length === 0) return null;
  const rank = Math.max(q * total, Number.MIN_VALUE);
  let i = 0;
  while (i < s.bounds.length && s.cumulative[i]! < rank) i++;
  const lower = i === 0 ? 0 : s.bounds[i - 1]!;
  return [lower, i === s.bounds.length ? Number.POSITIVE_INFINITY : s.bounds[i]!];
}

/** `a - b`, bucket by bucket (a later snapshot minus an earlier one of the same series). */
export function subtractSeries(a: BucketSeries, b: BucketSeries | undefined): BucketSeries {
  if (!b) return a;
  return {
    bounds: a.bounds,
    cumulative: a.cumulative.map((c, i) => Math.max(0, c - (b.cumulative[i] ?? 0))),
    sum: Math.max(0, a.sum - b.sum),
  };
}

/** Adds series with the same bounds (PromQL `sum by (le)`). */
export function addSeries(a: BucketSeries, b: BucketSeries): BucketSeries {
  return {
    bounds: a.bounds,
    cumulative: a.cumulative.map((c, i) => c + (b.cumulative[i] ?? 0)),
    sum: a.sum + b.sum,
  };
}

/**
 * Reads a prom-client histogram as bucket series grouped by `groupBy(labels)` (series whose
 * group is null are skipped; series in the same group are added up).
 */
export async function readBuckets<T extends string>(
  h: Histogram<T>,
  groupBy: (labels: Partial<Record<T, string | number>>) => string | null,
): Promise<Map<string, BucketSeries>> {
  const { values } = await h.get();
  const acc = new Map<string, { les: Map<number, number>; sum: number }>();
  for (const v of values) {
    const { le, ...rest } = v.labels as Record<string, string | number>;
    const group = groupBy(rest as Partial<Record<T, string | number>>);
    if (group === null) continue;
    let a = acc.get(group);
    if (!a) {
      a = { les: new Map(), sum: 0 };
      acc.set(group, a);
    }
    if (v.metricName?.endsWith('_bucket') && le !== undefined) {
      const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
      a.les.set(bound, (a.les.get(bound) ?? 0) + v.value);
    } else if (v.metricName?.endsWith('_sum')) a.sum += v.value;
  }
  const out = new Map<string, BucketSeries>();
  for (const [group, a] of acc) {
    const sorted = [...a.les.entries()].sort((x, y) => x[0] - y[0]);
    const finite = sorted.filter(([b]) => Number.isFinite(b));
    const inf = sorted.find(([b]) => !Number.isFinite(b))?.[1] ?? finite[finite.length - 1]?.[1] ?? 0;
    out.set(group, {
      bounds: finite.map(([b]) => b),
      cumulative: [...finite.map(([, c]) => c), inf],
      sum: a.sum,
    });
  }
  return out;
}
