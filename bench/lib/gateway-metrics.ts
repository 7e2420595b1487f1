/**
 * Reads the gateway's own latency histograms from /metrics, to split creation -> arrival into
 * its legs: creation -> applied to the cache (Kafka hop and ingest) and creation -> written to
 * the sockets (plus the hub's queueing). What remains of the client-side figure is the socket
 * and the load generator. Sums and counts are exact, so means over a window are too.
 */

export interface LatencySums {
  ingestSum: number;
  ingestCount: number;
  deliverySum: number;
  deliveryCount: number;
  /** Cumulative bucket counts by upper bound (seconds), summed over label values. */
  ingestBuckets: Map<number, number>;
  deliveryBuckets: Map<number, number>;
}

function sumOf(text: string, metric: string): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) total += v;
  }
  return total;
}

/** Cumulative `_bucket` counts by `le`, summed over the series whose labels contain `filter`. */
function bucketsOf(text: string, metric: string, filter = ''): Map<number, number> {
  const out = new Map<number, number>();
  const prefix = `${metric}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix) || !line.includes(filter)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (le === undefined || !Number.isFinite(v)) continue;
    const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + v);
  }
  return out;
}

/** Null when the endpoint does not answer (e.g. a remote gateway without access). */
export async function readLatencySums(metricsUrl: string): Promise<LatencySums | null> {
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) return null;
    const text = await res.text();
    return {
      ingestSum: sumOf(text, 'switchyard_ingest_latency_seconds_sum'),
      ingestCount: sumOf(text, 'switchyard_ingest_latency_seconds_count'),
      deliverySum: sumOf(text, 'switchyard_delivery_latency_seconds_sum'),
      deliveryCount: sumOf(text, 'switchyard_delivery_latency_seconds_count'),
      ingestBuckets: bucketsOf(text, 'switchyard_ingest_latency_seconds'),
      deliveryBuckets: bucketsOf(text, 'switchyard_delivery_latency_seconds', 'transport="sse"'),
    };
  } catch {
    return null;
  }
}

/** Mean ms per leg between two readings; NaN where nothing was observed. */
export function meanLegs(
  a: LatencySums | null,
  b: LatencySums | null,
): { ingestMs: number; flushMs: number } {
  if (!a || !b) return { ingestMs: Number.NaN, flushMs: Number.NaN };
  const n1 = b.ingestCount - a.ingestCount;
  const n2 = b.deliveryCount - a.deliveryCount;
  return {
    ingestMs: n1 > 0 ? ((b.ingestSum - a.ingestSum) * 1000) / n1 : Number.NaN,
    flushMs: n2 > 0 ? ((b.deliverySum - a.deliverySum) * 1000) / n2 : Number.NaN,
  };
}

/**
 * The upper bound (ms) of the histogram bucket holding quantile `q` of a leg over the window
 * between two readings: "p99 <= X ms", as coarse as the gateway's buckets (1, 2.5, 5, 10, 25,
 * 50, 100 ms...). NaN where nothing was observed.
 */
export function legQuantileMs(
  a: LatencySums | null,
  b: LatencySums | null,
  leg: 'ingest' | 'delivery',
  q: number,
): number {
  if (!a || !b) return Number.NaN;
  const before = leg === 'ingest' ? a.ingestBuckets : a.deliveryBuckets;
  const after = leg === 'ingest' ? b.ingestBuckets : b.deliveryBuckets;
  const bounds = [...after.keys()].sort((x, y) => x - y);
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
  if (total <= 0) return Number.NaN;
  for (const le of bounds) if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le * 1000;
  return Number.NaN;
}
