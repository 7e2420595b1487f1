import type { Config } from '../config/load.ts';
import type { Logger } from '../observability/logger.ts';
import type { SseHub } from '../sse/hub.ts';
import type { RolloutEvents } from './rollout-events.ts';
import { RolloutService } from './service.ts';
import type { RolloutStore } from './store.ts';

/**
 * The rollout of one gateway, on the fleet state (gateway/fleet/): rules shared through the
 * Kafka control topic (ROLLOUT_TOPIC) when Kafka is configured, else through the cluster primary
 * or this process's memory (demo feed). Until rules are published the defaults apply:
 * ROLLOUT_PERCENT % of clients stream.
 */
export function createRollout(
  config: Config,
  deps: { hub: SseHub; events: RolloutEvents; logger: Logger; now: () => number; store: RolloutStore },
): RolloutService {
  return new RolloutService({
    store: deps.store,
    hub: deps.hub,
    pollIntervalMs: config.pollIntervalMs,
    events: deps.events,
    logger: deps.logger,
    now: deps.now,
  });
}
