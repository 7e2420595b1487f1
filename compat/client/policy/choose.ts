import type { TransportAdvice } from '../../../gateway/protocol/types.ts';
import { backoff } from '../backoff.ts';
import type { AdviceResult } from './events.ts';
import { startPoll } from './polling.ts';
import { startStream } from './stream.ts';
import type { Transition } from './transition.ts';

/**
 * Choosing a transport at start: `GET /v1/transport` says stream or poll (or `force` skips it).
 * When it fails the kit polls and asks again with backoff (honouring its `Retry-After`).
 */

/** Cap of the backoff between failed `/v1/transport` requests. */
const ADVICE_RETRY_MAX_MS = 60_000;

/** The kit starts: asks which transport, unless `force` names one. */
export function start(t: Transition): void {
  if (t.state.mode !== 'idle') return;
  const gen = t.enter('deciding');
  const { force } = t.env.settings;
  if (force === 'poll') startPoll(t, 'forced', null);
  else if (force === 'sse') startStream(t, false, 'forced');
  else t.effects.push({ type: 'ask', gen, purpose: 'choose' });
}

/** The first answer of `/v1/transport`: stream or poll. */
export function chosen(t: Transition, result: AdviceResult): void {
  const advice = advised(t, result);
  if (advice === null) {
    startPoll(t, 'transport_unavailable', adviceRetryMs(t));
    return;
  }
  // A tab taking over from another one resumes from the state it mirrored.
  if (advice.transport === 'sse') {
    startStream(t, t.env.hasPosition, advice.reason);
    return;
  }
  startPoll(t, advice.reason, advice.recheckAfterMs);
}

/** What an answer of `/v1/transport` teaches whatever the purpose; null when it failed. */
export function advised(t: Transition, result: AdviceResult): TransportAdvice | null {
  if (!result.ok) {
    t.set({ adviceRetryAfterMs: result.retryAfterMs });
    return null;
  }
  const a = result.advice;
  t.set({
    adviceAttempt: 0,
    pollIntervalMs: a.pollIntervalMs > 0 ? a.pollIntervalMs : t.state.pollIntervalMs,
    recheckAfterMs: a.recheckAfterMs > 0 ? a.recheckAfterMs : null,
    rulesVersion: typeof a.rulesVersion === 'number' ? a.rulesVersion : t.state.rulesVersion,
  });
  if (a.transport === 'sse' && !t.env.canStream) return { ...a, transport: 'poll', reason: 'no_eventsource' };
  return a;
}

/** When to ask `/v1/transport` again after it failed: backoff, at least its `Retry-After`. */
export function adviceRetryMs(t: Transition): number {
  const { adviceAttempt, adviceRetryAfterMs } = t.state;
  const wait = backoff(adviceAttempt, t.env.settings.reconnectBaseMs, ADVICE_RETRY_MAX_MS, t.env.random);
  t.set({ adviceAttempt: adviceAttempt + 1 });
  return Math.max(adviceRetryAfterMs ?? 0, wait);
}
