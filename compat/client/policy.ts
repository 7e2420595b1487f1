import { chosen, start } from './policy/choose.ts';
import type { PolicyEnv, PolicyEvent, Step } from './policy/events.ts';
import { fallback } from './policy/fallback.ts';
import { polled } from './policy/polling.ts';
import { probeDue, scheduleProbe } from './policy/probe.ts';
import { control, rechecked } from './policy/recheck.ts';
import type { Mode, PolicyState, TimerName } from './policy/state.ts';
import { data, failed, opened, shutdown, startStream } from './policy/stream.ts';
import { Transition } from './policy/transition.ts';

/**
 * The kit's transport policy as a pure state machine: `step(env, state, event)` returns the next
 * state and the effects the engine (engine.ts) must run: open or close the stream, send a
 * request, set or clear a timer, report a status. No I/O, no timers, no clock: time arrives in
 * events, randomness through `env.random`, so every decision can be tested without waiting.
 *
 * This file only routes each event to the transition of its concern (in policy/):
 * - choose.ts: `GET /v1/transport` says stream or poll at start (or `force` skips it); when it
 *   fails the kit polls and asks again with backoff.
 * - stream.ts: the stream and its health (the EventSource's own reconnect first, then the kit's
 *   with backoff, resuming from the last event id; `shutdown` announces a reconnect that is no
 *   failure).
 * - fallback.ts: too many stream failures, or a fresh stream without a snapshot, fall back to
 *   polling; streaming is tried again later (doubling).
 * - polling.ts: `GET /v1/snapshot` at the advertised interval, backing off on errors.
 * - recheck.ts: while polling, ask `/v1/transport` again (rollout); a `control` event switches a
 *   stream to polling at once (kill switch).
 * - probe.ts: the clock probes of a streaming kit.
 * The vocabulary is in state.ts (the state) and events.ts (events in, effects out); transition.ts
 * is the step builder they all write to.
 */

export type {
  AdviceResult,
  AskPurpose,
  Effect,
  PolicyEnv,
  PolicyEvent,
  Step,
} from './policy/events.ts';
export { PROBE_DELAYS_MS, PROBE_EVERY_MS } from './policy/probe.ts';
export { initialState, type PolicyState, type TimerName } from './policy/state.ts';

/** The transition function: pure. */
export function step(env: PolicyEnv, state: PolicyState, event: PolicyEvent): Step {
  const t = new Transition(env, state);
  on(t, event);
  return { state: t.state, effects: t.effects };
}

function on(t: Transition, e: PolicyEvent): void {
  const s = t.state;
  if (s.mode === 'stopped') return;
  if (e.type === 'start') {
    start(t);
    return;
  }
  if (e.type === 'stop') {
    t.enter('stopped');
    return;
  }
  if (e.gen !== s.gen || !belongsTo(e, s.mode)) return;
  switch (e.type) {
    case 'advice':
      if (e.purpose === 'choose') chosen(t, e.result);
      else rechecked(t, e.result);
      return;
    case 'opened':
      opened(t);
      return;
    case 'data':
      data(t, e.snapshot);
      return;
    case 'control':
      control(t, e);
      return;
    case 'shutdown':
      shutdown(t);
      return;
    case 'serverError':
      t.report('waiting', e.message ? `${e.code}: ${e.message}` : e.code);
      return;
    case 'failed':
      failed(t, e.at, e.gaveUp, e.status, e.retryAfterMs);
      return;
    case 'polled':
      polled(t, e.outcome);
      return;
    case 'probed':
      scheduleProbe(t);
      return;
    case 'timer':
      timerFired(t, e.timer);
      return;
  }
}

/**
 * Whether an event can come from what the mode runs (the generation aside): stream events from a
 * stream, poll answers from polling, the first advice while deciding. Anything else is dropped.
 */
function belongsTo(e: Exclude<PolicyEvent, { type: 'start' | 'stop' }>, mode: Mode): boolean {
  switch (e.type) {
    case 'advice':
      return mode === (e.purpose === 'choose' ? 'deciding' : 'poll');
    case 'polled':
      return mode === 'poll';
    case 'timer':
      return true; // only pending timers fire (see timerFired())
    default:
      return mode === 'sse';
  }
}

/** What each timer does when it fires (a record, so a new timer cannot go without one). */
const ON_TIMER: Readonly<Record<TimerName, (t: Transition, gen: number) => void>> = {
  watchdog: (t) => fallback(t, 'no_snapshot'),
  reconnect: (t) => startStream(t, t.env.hasPosition, t.state.reason),
  poll: (t, gen) => t.effects.push({ type: 'poll', gen }),
  recheck: (t, gen) => t.effects.push({ type: 'ask', gen, purpose: 'recheck' }),
  probe: probeDue,
};

/** A timer fired: only one still pending counts (a cleared one may fire late). */
function timerFired(t: Transition, name: TimerName): void {
  if (!t.state.timers.has(name)) return;
  t.dropTimer(name);
  ON_TIMER[name](t, t.state.gen);
}
