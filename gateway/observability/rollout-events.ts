import type { RolloutEvents } from '../rollout/rollout-events.ts';
import type { GatewayMetrics } from './metrics.ts';

/**
 * The rollout's events as Prometheus series (docs/observability.md):
 * `switchyard_transport_decisions_total{transport,reason}`,
 * `switchyard_rollout_control_events_total{reason}`, `switchyard_rollout_percent` and
 * `switchyard_rollout_kill_switch`.
 */
export function promRolloutEvents(
  m: Pick<GatewayMetrics, 'transportDecisions' | 'controlEvents' | 'rolloutPercent' | 'rolloutKillSwitch'>,
): RolloutEvents {
  return {
    decided: (transport, reason) => m.transportDecisions.inc({ transport, reason }),
    controlSent: (reason) => m.controlEvents.inc({ reason }),
    rulesInForce: (ssePercent, killSwitch) => {
      m.rolloutPercent.set(ssePercent);
      m.rolloutKillSwitch.set(killSwitch ? 1 : 0);
    },
  };
}
