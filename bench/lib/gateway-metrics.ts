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
