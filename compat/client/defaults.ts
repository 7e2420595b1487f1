/**
 * The defaults of the kit's transport settings, in one place: `connect()` fills every option it
 * is not given from here, and the option docs point at this object (docs/client-kit.md).
 */
export const DEFAULTS = Object.freeze({
  /** A fresh stream that brings no snapshot within this long sits behind a buffering proxy: poll instead. */
  snapshotTimeoutMs: 10_000,
  /** This many stream failures within `errorWindowMs` send the kit to polling. */
  maxErrors: 4,
  errorWindowMs: 60_000,
  /** First delay before streaming is tried again after a fallback; doubles up to `maxStreamRetryMs`. */
  streamRetryMs: 60_000,
  maxStreamRetryMs: 15 * 60_000,
  /** Backoff base and cap of the kit's own stream reconnects and of failing polls. */
  reconnectBaseMs: 1000,
  reconnectMaxMs: 30_000,
  /** Poll interval until the gateway advertises its own (`X-Poll-Interval-Ms`, `/v1/transport`). */
  pollIntervalMs: 10_000,
});

/** The settings of one kit's transport policy: {@link DEFAULTS} with the caller's options over them. */
export interface PolicySettings {
  snapshotTimeoutMs: number;
  maxErrors: number;
  errorWindowMs: number;
  streamRetryMs: number;
  maxStreamRetryMs: number;
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  pollIntervalMs: number;
  /** Skip `/v1/transport`: always this transport (debugging, tests). */
  force: 'sse' | 'poll' | null;
}
