import type { Config } from '../config/load.ts';
import type { Logger } from '../observability/logger.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { KafkaHealth } from '../source/kafka-health.ts';
import type { SseHub } from '../sse/hub.ts';
import { KafkaRolloutStore } from './kafka-store.ts';
import { defaultRules } from './rules.ts';
import { RolloutService } from './service.ts';
import { MemoryRolloutStore, type RolloutStore } from './store.ts';

/**
 * The rollout of one gateway: rules shared through the Kafka control topic (ROLLOUT_TOPIC) when
 * Kafka is configured, else (demo feed, or `ROLLOUT_TOPIC=none`) kept in memory. Until rules are published the defaults
 * apply: ROLLOUT_PERCENT % of clients stream.
 */
export function createRollout(
  config: Config,
  deps: {
    hub: SseHub;
    metrics: GatewayMetrics;
    logger: Logger;
    now: () => number;
    store?: RolloutStore;
    kafkaHealth?: KafkaHealth;
  },
): RolloutService {
  const defaults = defaultRules(config.rollout.initialPercent);
  const store =
    deps.store ??
    (config.kafka && config.rollout.topic !== null
      ? new KafkaRolloutStore({
          ...config.kafka,
          health: deps.kafkaHealth,
          topic: config.rollout.topic,
          createTopic: config.rollout.createTopic,
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
