import { backoff, spread } from '../backoff.ts';
import type { PollOutcome } from './events.ts';
import type { Transition } from './transition.ts';

/**
 * Polling: `GET /v1/snapshot` at the advertised interval, backing off on errors and honouring
 * `Retry-After`.
 */

/** Polls now and then at the advertised interval; `recheckMs`: when to ask about streaming (null: never). */
export function startPoll(t: Transition, reason: string, recheckMs: number | null): void {
  const gen = t.enter('poll');
  t.set({ reason });
  t.report('connecting', null);
  if (recheckMs !== null) t.setTimer('recheck', spread(recheckMs, t.env.random));
  t.effects.push({ type: 'poll', gen });
}

/** A poll answered: schedules the next one (backing off after a failure). */
export function polled(t: Transition, o: PollOutcome): void {
  const s = t.state;
  const { reconnectBaseMs, reconnectMaxMs } = t.env.settings;
  if (!o.ok) {
    const wait = backoff(s.pollAttempt, reconnectBaseMs, reconnectMaxMs, t.env.random);
    t.set({ pollAttempt: s.pollAttempt + 1 });
    t.report('waiting', o.error);
    // Told when to come back: at least that long. Otherwise back off, never faster than the interval.
    t.setTimer(
      'poll',
      o.retryAfterMs !== null ? Math.max(o.retryAfterMs, wait) : Math.max(wait, s.pollIntervalMs),
    );
    return;
  }
  t.set({ pollAttempt: 0, pollIntervalMs: o.intervalMs ?? s.pollIntervalMs });
  // The rules changed since this kit asked (kill switch lifted, percentage raised): ask now,
  // not at the next recheck. Only when a recheck is pending (the rollout is why it polls).
  if (
    o.rulesVersion !== null &&
    s.rulesVersion !== null &&
    o.rulesVersion !== s.rulesVersion &&
    s.timers.has('recheck')
  ) {
    t.set({ rulesVersion: o.rulesVersion });
    t.clearTimer('recheck');
    t.effects.push({ type: 'ask', gen: s.gen, purpose: 'recheck' });
  }
  t.report('live', null);
  // The interval runs from the start of this poll, spread a little so clients do not align.
  t.setTimer('poll', Math.max(0, spread(t.state.pollIntervalMs, t.env.random) - o.elapsedMs));
}
