import type { ControlEventData, TransportAdvice } from '../../../gateway/protocol/types.ts';
import type { PolicySettings } from '../defaults.ts';
import type { KitStatus } from '../types.ts';
import type { PolicyState, TimerName } from './state.ts';

/** Why the kit asks `/v1/transport`: to choose a transport at start, or again while polling. */
export type AskPurpose = 'choose' | 'recheck';

/** The outcome of one `/v1/transport` request. */
export type AdviceResult = { ok: true; advice: TransportAdvice } | { ok: false; retryAfterMs: number | null };

/** The outcome of one poll, as far as the policy cares (the engine applies the body itself). */
export type PollOutcome =
  | { ok: true; intervalMs: number | null; rulesVersion: number | null; elapsedMs: number }
  | { ok: false; retryAfterMs: number | null; error: string };

/** What happens to the kit: what the engine feeds into the policy. */
export type PolicyEvent =
  | { type: 'start' }
  | { type: 'stop' }
  | { type: 'advice'; gen: number; purpose: AskPurpose; result: AdviceResult }
  | { type: 'opened'; gen: number }
  /** A snapshot (`snapshot: true`) or an update arrived on the stream. */
  | { type: 'data'; gen: number; snapshot: boolean }
  | ({ type: 'control'; gen: number } & ControlEventData)
  | { type: 'shutdown'; gen: number }
  | { type: 'serverError'; gen: number; code: string; message: string }
  /** The stream failed at local time `at`; `gaveUp`: the EventSource will not reconnect itself. */
  | {
      type: 'failed';
      gen: number;
      at: number;
      gaveUp: boolean;
      status: number | null;
      retryAfterMs: number | null;
    }
  | { type: 'polled'; gen: number; outcome: PollOutcome }
  | { type: 'probed'; gen: number }
  | { type: 'timer'; gen: number; timer: TimerName };

/** What the engine must do: the policy's only way to act. */
export type Effect =
  /** Apply the actions the stream queued, before the mode changes. */
  | { type: 'flush' }
  | { type: 'abortRequests' }
  | { type: 'openStream'; gen: number; resume: boolean }
  | { type: 'closeStream' }
  | { type: 'ask'; gen: number; purpose: AskPurpose }
  | { type: 'poll'; gen: number }
  /** A timed request for the clock estimate only; answers with a `probed` event. */
  | { type: 'probe'; gen: number }
  | { type: 'setTimer'; gen: number; timer: TimerName; ms: number }
  | { type: 'clearTimer'; timer: TimerName }
  | { type: 'status'; status: Pick<KitStatus, 'transport' | 'phase' | 'reason' | 'lastError'> };

/** What a step depends on besides the state: the settings, whether streaming is possible, randomness. */
export interface PolicyEnv {
  readonly settings: PolicySettings;
  /** An EventSource implementation exists; without one every `sse` answer reads as `poll`. */
  readonly canStream: boolean;
  /** Whether the kit holds data (a position) to resume from. */
  readonly hasPosition: boolean;
  readonly random: () => number;
}

/** The result of one step: the next state and the effects to run, in order. */
export interface Step {
  readonly state: PolicyState;
  readonly effects: readonly Effect[];
}
