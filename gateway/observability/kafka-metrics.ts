import type { KafkaMetrics } from '../source/kafka-health.ts';
import type { GatewayMetrics } from './metrics.ts';

/**
 * Kafka health as Prometheus series (docs/observability.md):
 * `switchyard_kafka_failures_total{component,reason}`, `switchyard_kafka_problem{component,reason}`
 * (1 while in force, removed when over) and `switchyard_kafka_offsets_out_of_range_total{stream}`.
 */
export function promKafkaMetrics(
  m: Pick<GatewayMetrics, 'kafkaFailures' | 'kafkaProblem' | 'kafkaOffsetsOutOfRange'>,
): KafkaMetrics {
  return {
    failed: (component, reason) => m.kafkaFailures.inc({ component, reason }),
    problemBegan: (component, reason) => m.kafkaProblem.set({ component, reason }, 1),
    problemEnded: (component, reason) => m.kafkaProblem.remove({ component, reason }),
    offsetsOutOfRange: (stream) => m.kafkaOffsetsOutOfRange.inc({ stream }),
  };
}
