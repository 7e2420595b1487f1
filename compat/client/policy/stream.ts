import { backoff } from '../backoff.ts';
import { fallback } from './fallback.ts';
import { startPoll } from './polling.ts';
import { scheduleProbe } from './probe.ts';
import type { Transition } from './transition.ts';

/**
 * Streaming and its health: the first reconnect after a failure is the EventSource's own (it
 * honours the server's `retry:` and sends Last-Event-ID); when that fails too, the kit reconnects
 * itself with exponential backoff and jitter (and any `Retry-After`), resuming from the last
 * event id. Too many failures fall back to polling (fallback.ts). A `shutdown` event announces
 * a reconnect that is no failure.
 */

/** `resume`: continue from the last event id (replay) instead of asking for a snapshot. */
export function startStream(t: Transition, resume: boolean, reason: string): void {
  if (!t.env.canStream) {
    startPoll(t, 'no_eventsource', null);
    return;
  }
  const gen = t.enter('sse');
  t.set({ reason, resumed: resume });
  t.report('connecting', null);
  // The watchdog: a buffering proxy delivers nothing (or only headers) until the response ends.
  t.setTimer('watchdog', t.env.settings.snapshotTimeoutMs);
  t.effects.push({ type: 'openStream', gen, resume });
}

/** The stream's response headers arrived. */
export function opened(t: Transition): void {
  const s = t.state;
  // A resumed stream may have nothing to replay: its headers are all it can show.
  if (s.resumed) t.clearTimer('watchdog');
  // The EventSource reconnected by itself (after the server's `retry:`): back to live.
  if (s.consecutive > 0) {
    t.set({ consecutive: 0 });
    t.report('live', null);
  }
}

/** A snapshot or an update arrived: the stream works. */
export function data(t: Transition, snapshot: boolean): void {
  t.clearTimer('watchdog');
  if (snapshot) {
    healthy(t);
    t.report('live', null);
    if (!t.state.timers.has('probe')) scheduleProbe(t);
  } else if (t.state.consecutive > 0 || t.state.reconnectAttempt > 0) {
    healthy(t);
    t.report('live', null);
  }
}

/** The gateway drains this stream: its next connection error is no failure. */
export function shutdown(t: Transition): void {
  t.set({ expectReconnect: true });
}

/** The stream failed at local time `at`. */
export function failed(
  t: Transition,
  at: number,
  gaveUp: boolean,
  status: number | null,
  retryAfterMs: number | null,
): void {
  const lastError = status === null ? 'stream interrupted' : `stream answered ${status}`;
  if (!gaveUp && t.state.expectReconnect) {
    // The gateway drained this stream and said when to come back (`retry:`): not a failure.
    t.set({ expectReconnect: false });
    t.report('waiting', null);
    return;
  }
  if (countFailure(t, at)) return;
  const consecutive = t.state.consecutive + 1;
  t.set({ consecutive });
  if (!gaveUp && consecutive < 2) {
    // Let the EventSource reconnect on its own: it honours `retry:` and sends Last-Event-ID.
    t.report('waiting', lastError);
    return;
  }
  t.clearTimer('watchdog');
  t.effects.push({ type: 'closeStream' });
  const { reconnectBaseMs, reconnectMaxMs } = t.env.settings;
  const attempt = t.state.reconnectAttempt;
  const wait = Math.max(retryAfterMs ?? 0, backoff(attempt, reconnectBaseMs, reconnectMaxMs, t.env.random));
  t.set({ reconnectAttempt: attempt + 1 });
  t.report('waiting', lastError);
  t.setTimer('reconnect', wait);
}

/** Records a failure; true when there were too many and the kit fell back to polling. */
function countFailure(t: Transition, at: number): boolean {
  const { errorWindowMs, maxErrors } = t.env.settings;
  const failures = [...t.state.failures.filter((f) => at - f < errorWindowMs), at];
  t.set({ failures });
  if (failures.length < maxErrors) return false;
  fallback(t, 'errors');
  return true;
}

function healthy(t: Transition): void {
  t.set({ consecutive: 0, reconnectAttempt: 0, fallbacks: 0 });
}
