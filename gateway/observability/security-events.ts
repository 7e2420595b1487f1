import type { SecurityEvents } from '../security/security-events.ts';
import type { GatewayMetrics } from './metrics.ts';

/**
 * The security layer's events as Prometheus series (names and labels in docs/observability.md):
 * `switchyard_stream_auth_failures_total{reason}`, `switchyard_stream_token_expiries_total`,
 * `switchyard_rate_limited_total` and `switchyard_dead_letter_records_total{result}`.
 */
export function promSecurityEvents(
  m: Pick<GatewayMetrics, 'authFailures' | 'tokenExpiries' | 'rateLimited' | 'deadLetters'>,
): SecurityEvents {
  return {
    authFailed: (reason) => m.authFailures.inc({ reason }),
    tokenExpired: () => m.tokenExpiries.inc(),
    rateLimited: () => m.rateLimited.inc(),
    deadLettered: (result, n) => m.deadLetters.inc({ result }, n),
  };
}
