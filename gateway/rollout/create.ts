import type { Config } from '../config/load.ts';
import type { Logger } from '../observability/logger.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { SseHub } from '../sse/hub.ts';
import { KafkaRolloutStore } from './kafka-store.ts';
import { defaultRules } from './rules.ts';
import { RolloutService } from './service.ts';
import { MemoryRolloutStore, type RolloutStore } from './store.ts';

/**
 * The rollout of one gateway: rules shared through the Kafka control topic (ROLLOUT_TOPIC) when
 * Kafka is configured, else kept in memory (demo feed). Until rules are published the defaults
 * apply: ROLLOUT_PERCENT % of clients stream.
 */
export function createRollout(
  config: Config,
  deps: { hub: SseHub; metrics: GatewayMetrics; logger: Logger; now: () => number; store?: RolloutStore },
): RolloutService {
  const defaults = defaultRules(config.rollout.initialPercent);
  const store =
    deps.store ??
    (config.kafka
      ? new KafkaRolloutStore({
          brokers: config.kafka.brokers,
          clientId: config.kafka.clientId,
          connectTimeoutMs: config.kafka.connectTimeoutMs,
          maxRetryMs: config.kafka.maxRetryMs,
          codecs: config.kafka.codecs,
          compression: config.kafka.compression,
          topic: config.rollout.topic,
          defaults,
          logger: deps.logger,
          now: deps.now,
        })
      : new MemoryRolloutStore(defaults));
  return new RolloutService({
    store,
    hub: deps.hub,
    pollIntervalMs: config.pollIntervalMs,
    metrics: deps.metrics,
    logger: deps.logger,
    now: deps.now,
  });
}
