import type { StreamMetrics, StreamStart } from '../sse/stream-metrics.ts';
import type { GatewayMetrics } from './metrics.ts';

/**
 * The SSE transport's events as Prometheus series (names and labels in docs/observability.md):
 * `switchyard_sse_connects_total{kind}`, `switchyard_sse_disconnects_total{reason="closed"}`,
 * `switchyard_sse_conflated_events_total`, `switchyard_sse_slow_disconnects_total` and
 * `switchyard_delivery_latency_seconds{transport="sse"}`.
 */
export function promStreamMetrics(
  m: Pick<
    GatewayMetrics,
    'sseConnects' | 'sseDisconnects' | 'conflations' | 'slowDisconnects' | 'deliveryLatency'
  >,
): StreamMetrics {
  return {
    connected: (start: StreamStart) => m.sseConnects.inc({ kind: start }),
    closed: () => m.sseDisconnects.inc({ reason: 'closed' }),
    conflated: (n) => m.conflations.inc(n),
    slowDisconnected: () => m.slowDisconnects.inc(),
    delivered: (latencyMs) => m.deliveryLatency.observe({ transport: 'sse' }, Math.max(0, latencyMs) / 1000),
  };
}
