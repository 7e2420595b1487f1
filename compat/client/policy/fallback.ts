import { backoff } from '../backoff.ts';
import { startPoll } from './polling.ts';
import type { Transition } from './transition.ts';

/**
 * Streaming does not work from here (`maxErrors` failures within `errorWindowMs`, or a fresh
 * stream without a snapshot: a buffering proxy): poll, and try streaming again later
 * (`streamRetryMs`, doubling up to `maxStreamRetryMs`).
 */
export function fallback(t: Transition, why: 'no_snapshot' | 'errors'): void {
  const { streamRetryMs, maxStreamRetryMs } = t.env.settings;
  const retryIn = backoff(t.state.fallbacks, streamRetryMs * 2, maxStreamRetryMs, t.env.random);
  t.set({ fallbacks: t.state.fallbacks + 1, failures: [], consecutive: 0 });
  startPoll(t, `fallback:${why}`, retryIn);
}
