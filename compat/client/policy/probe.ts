import { spread } from '../backoff.ts';
import type { Transition } from './transition.ts';

/**
 * Clock probes: a streaming kit makes a few timed requests after its snapshot, then one every
 * five minutes, for its clock estimate only: they change nothing in the policy but the probe
 * schedule.
 */

/** Timed requests a streaming kit makes for its clock estimate: soon after connecting, then rarely. */
export const PROBE_DELAYS_MS: readonly number[] = [1000, 3000, 10_000];
export const PROBE_EVERY_MS = 5 * 60_000;

/** Sets the probe timer for the next probe. */
export function scheduleProbe(t: Transition): void {
  const delay = PROBE_DELAYS_MS[t.state.probes] ?? PROBE_EVERY_MS;
  t.setTimer('probe', spread(delay, t.env.random));
}

/** The probe timer fired: make the probe (its answer schedules the next). */
export function probeDue(t: Transition): void {
  t.set({ probes: t.state.probes + 1 });
  t.effects.push({ type: 'probe', gen: t.state.gen });
}
