import type { PolicySettings } from '../defaults.ts';

/** The kit's timers: at most one of each is pending. */
export type TimerName = 'watchdog' | 'reconnect' | 'poll' | 'recheck' | 'probe';

export type Mode = 'idle' | 'deciding' | 'sse' | 'poll' | 'stopped';

/** What the transport policy remembers between steps. */
export interface PolicyState {
  readonly mode: Mode;
  /**
   * Bumped on every mode change. Effects that lead to later events (requests, timers, the stream)
   * are tagged with it; an event of an older generation is a late answer of a mode that is gone,
   * and changes nothing.
   */
  readonly gen: number;
  /** Why the current transport: shown in the status. */
  readonly reason: string;
  /** The stream was opened with a Last-Event-ID: its headers count as a sign of life. */
  readonly resumed: boolean;
  /** Local times of recent stream failures, within `errorWindowMs`. */
  readonly failures: readonly number[];
  /** Stream failures since it last delivered: the first is left to the EventSource. */
  readonly consecutive: number;
  /** Backoff attempts: the kit's own stream reconnects, fallbacks to polling, failed polls and asks. */
  readonly reconnectAttempt: number;
  readonly fallbacks: number;
  readonly pollAttempt: number;
  readonly adviceAttempt: number;
  /** Clock probes made so far (picks the next delay). */
  readonly probes: number;
  /** The gateway sent `shutdown`: the next connection error is its announced reconnect. */
  readonly expectReconnect: boolean;
  /** Retry-After of the last failed `/v1/transport`, honoured before asking again. */
  readonly adviceRetryAfterMs: number | null;
  readonly pollIntervalMs: number;
  readonly recheckAfterMs: number | null;
  /** Rules version of the last `/v1/transport` answer or `control` event (null: unknown). */
  readonly rulesVersion: number | null;
  /** Timers pending now (effects set and clear them; the engine reports those that fire). */
  readonly timers: ReadonlySet<TimerName>;
}

/** No timer pending: the timers of a kit that has not started, or has just changed mode. */
export const NO_TIMERS: ReadonlySet<TimerName> = new Set();

/** The state of a kit that has not started. */
export function initialState(settings: PolicySettings): PolicyState {
  return {
    mode: 'idle',
    gen: 0,
    reason: '',
    resumed: false,
    failures: [],
    consecutive: 0,
    reconnectAttempt: 0,
    fallbacks: 0,
    pollAttempt: 0,
    adviceAttempt: 0,
    probes: 0,
    expectReconnect: false,
    adviceRetryAfterMs: null,
    pollIntervalMs: settings.pollIntervalMs,
    recheckAfterMs: null,
    rulesVersion: null,
    timers: NO_TIMERS,
  };
}
