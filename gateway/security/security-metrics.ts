import type { Counter } from 'prom-client';
import type { GatewayMetrics } from '../observability/metrics.ts';

/** Why a stream or poll request was refused for its access token. */
export type AuthFailure = 'missing' | 'invalid' | 'expired' | 'forbidden_stream';
/** What happened to a record offered to the dead-letter topic. */
export type DeadLetterResult = 'sent' | 'dropped' | 'failed';

/**
 * The security counters, registered with the gateway's other metrics (observability/metrics.ts).
 * Labels come from the fixed unions above only.
 */
export interface SecurityMetrics {
  readonly authFailures: Counter<'reason'>;
  readonly tokenExpiries: Counter;
  readonly rateLimited: Counter;
  readonly deadLetters: Counter<'result'>;
}

/** The security counters of a gateway's metrics (a view: nothing is created here). */
export function securityMetrics(metrics: GatewayMetrics): SecurityMetrics {
  return metrics;
}
