import type { DecisionReason, TransportName } from './decide.ts';

/**
 * What the rollout reports (a port: it knows no metrics library; the prom-client adapter is
 * gateway/observability/rollout-events.ts, wired in by createGateway).
 */
export interface RolloutEvents {
  /** `GET /v1/transport` answered a client with this decision. */
  decided(transport: TransportName, reason: DecisionReason): void;
  /** A `control` event told a streaming kit to poll. */
  controlSent(reason: DecisionReason): void;
  /**
   * New rules are in force: the share of client ids sent to SSE (0 while the kill switch is
   * on), and whether the kill switch is on.
   */
  rulesInForce(ssePercent: number, killSwitch: boolean): void;
}
