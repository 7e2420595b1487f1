/** Why a stream or poll request was refused for its access token. */
export type AuthFailure = 'missing' | 'invalid' | 'expired' | 'forbidden_stream';
/** What happened to a record offered to the dead-letter topic. */
export type DeadLetterResult = 'sent' | 'dropped' | 'failed';

/**
 * What the security layer reports (a port: it knows no metrics library; the prom-client adapter
 * is gateway/observability/security-events.ts, wired in by createGateway). Arguments come from
 * the fixed unions above only, so they are safe as metric labels.
 */
export interface SecurityEvents {
  /** A request was refused for its stream token (or the streams it asked for). */
  authFailed(reason: AuthFailure): void;
  /** An open stream was ended because its token expired. */
  tokenExpired(): void;
  /** A request was refused 429 by the per-IP rate limit. */
  rateLimited(): void;
  /** `n` records offered to the dead-letter topic ended as `result`. */
  deadLettered(result: DeadLetterResult, n: number): void;
}
