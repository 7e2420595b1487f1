import { spread } from '../backoff.ts';
import { adviceRetryMs, advised } from './choose.ts';
import type { AdviceResult, PolicyEvent } from './events.ts';
import { startPoll } from './polling.ts';
import { startStream } from './stream.ts';
import type { Transition } from './transition.ts';

/**
 * The rollout moving a kit between transports: while polling it asks `/v1/transport` again (every
 * `recheckAfterMs`, when the fallback's stream retry is due, or at once when a poll shows new
 * rules: polling.ts) and streams when told to; a `control` event on the stream (the kill switch,
 * or a lowered percentage) switches to polling at once, keeping the state.
 */

/** When a `control` event without `recheckAfterMs` came, and none is known: ask again after this long. */
const CONTROL_RECHECK_MS = 60_000;

/** While polling: streams if the gateway now says so, else asks again later. */
export function rechecked(t: Transition, result: AdviceResult): void {
  const advice = advised(t, result);
  if (advice?.transport === 'sse') {
    startStream(t, false, advice.reason);
    return;
  }
  let next: number;
  if (advice === null) next = adviceRetryMs(t);
  else {
    // The rollout (not a fallback) is now why this kit polls; it says when to ask again.
    next = advice.recheckAfterMs;
    if (advice.reason === 'no_eventsource') return;
    t.setReason(advice.reason);
  }
  t.setTimer('recheck', spread(next, t.env.random));
}

/** A `control` event on the stream: to polling at once, with what it says about intervals and rules. */
export function control(t: Transition, c: Extract<PolicyEvent, { type: 'control' }>): void {
  if (c.transport !== 'poll') return;
  const s = t.state;
  t.set({
    pollIntervalMs:
      typeof c.pollIntervalMs === 'number' && c.pollIntervalMs > 0 ? c.pollIntervalMs : s.pollIntervalMs,
    recheckAfterMs:
      typeof c.recheckAfterMs === 'number' && c.recheckAfterMs > 0 ? c.recheckAfterMs : s.recheckAfterMs,
    rulesVersion: typeof c.rulesVersion === 'number' ? c.rulesVersion : s.rulesVersion,
  });
  startPoll(t, `control:${c.reason}`, t.state.recheckAfterMs ?? CONTROL_RECHECK_MS);
}
