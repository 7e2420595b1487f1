import type { TelemetryEvents } from '../telemetry/telemetry-events.ts';
import type { GatewayMetrics } from './metrics.ts';

/**
 * Client kit telemetry as Prometheus series (docs/observability.md):
 * `switchyard_telemetry_batches_total{outcome}`, `switchyard_telemetry_samples_total{transport,outcome}`
 * and `switchyard_client_latency_seconds{transport}`.
 */
export function promTelemetryEvents(
  m: Pick<GatewayMetrics, 'telemetryBatches' | 'telemetrySamples' | 'clientLatency'>,
): TelemetryEvents {
  return {
    batch: (outcome) => m.telemetryBatches.inc({ outcome }),
    samples: (transport, outcome, n) => m.telemetrySamples.inc({ transport, outcome }, n),
    latency: (transport, seconds) => m.clientLatency.observe({ transport }, seconds),
  };
}
