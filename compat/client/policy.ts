import type { TransportAdvice } from '../../gateway/protocol/types.ts';
import { backoff, spread } from './backoff.ts';
import type { PolicySettings } from './defaults.ts';
import type { KitStatus } from './types.ts';

/**
 * The kit's transport policy as a pure state machine: `step(env, state, event)` returns the next
 * state and the effects the engine (engine.ts) must run: open or close the stream, send a
 * request, set or clear a timer, report a status. No I/O, no timers, no clock: time arrives in
 * events, randomness through `env.random`, so every decision can be tested without waiting.
 *
 * - Choosing: `GET /v1/transport` says stream or poll (or `force` skips it). When it fails the kit
 *   polls and asks again with backoff (honouring its `Retry-After`).
 * - SSE: the first reconnect after a failure is the EventSource's own (it honours the server's
 *   `retry:` and sends Last-Event-ID); when that fails too, the kit reconnects itself with
 *   exponential backoff and jitter (and any `Retry-After`), resuming from the last event id.
 *   `maxErrors` failures within `errorWindowMs`, or a fresh stream without a snapshot within
 *   `snapshotTimeoutMs` (a buffering proxy), fall back to polling; streaming is tried again later
 *   (`streamRetryMs`, doubling). A `shutdown` event announces a reconnect that is no failure.
 * - Poll: `GET /v1/snapshot` at the advertised interval, backing off on errors and honouring
 *   `Retry-After`; while polling it asks `/v1/transport` again every `recheckAfterMs` (rollout),
 *   when the fallback's stream retry is due, or at once when a poll shows new rollout rules.
 * - A `control` event on the stream switches to polling at once, keeping the state.
 * - Clock probes: a streaming kit makes a few timed requests after its snapshot, then one every
 *   five minutes, for its clock estimate only: they change nothing here but the probe schedule.
 */

/** The kit's timers: at most one of each is pending. */
export type TimerName = 'watchdog' | 'reconnect' | 'poll' | 'recheck' | 'probe';

/** Why the kit asks `/v1/transport`: to choose a transport at start, or again while polling. */
export type AskPurpose = 'choose' | 'recheck';

export type Mode = 'idle' | 'deciding' | 'sse' | 'poll' | 'stopped';

/** Timed requests a streaming kit makes for its clock estimate: soon after connecting, then rarely. */
export const PROBE_DELAYS_MS: readonly number[] = [1000, 3000, 10_000];
export const PROBE_EVERY_MS = 5 * 60_000;
/** Cap of the backoff between failed `/v1/transport` requests. */
export const ADVICE_RETRY_MAX_MS = 60_000;
/** When a `control` event without `recheckAfterMs` came, and none is known: ask again after this long. */
export const CONTROL_RECHECK_MS = 60_000;

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

/** The outcome of one `/v1/transport` request. */
export type AdviceResult = { ok: true; advice: TransportAdvice } | { ok: false; retryAfterMs: number | null };

/** The outcome of one poll, as far as the policy cares (the engine applies the body itself). */
export type PollOutcome =
  | { ok: true; intervalMs: number | null; rulesVersion: number | null; elapsedMs: number }
  | { ok: false; retryAfterMs: number | null; error: string };

export type PolicyEvent =
  | { type: 'start' }
  | { type: 'stop' }
  | { type: 'advice'; gen: number; purpose: AskPurpose; result: AdviceResult }
  | { type: 'opened'; gen: number }
  /** A snapshot (`snapshot: true`) or an update arrived on the stream. */
  | { type: 'data'; gen: number; snapshot: boolean }
  | {
      type: 'control';
      gen: number;
      transport: 'poll' | 'sse';
      reason: string;
      pollIntervalMs?: number;
      recheckAfterMs?: number;
      rulesVersion?: number;
    }
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

export interface Step {
  readonly state: PolicyState;
  readonly effects: readonly Effect[];
}

const NO_TIMERS: ReadonlySet<TimerName> = new Set();

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

/** The transition function: pure. */
export function step(env: PolicyEnv, state: PolicyState, event: PolicyEvent): Step {
  const t = new Transition(env, state);
  t.on(event);
  return { state: t.state, effects: t.effects };
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
      return true; // only pending timers fire (see timer())
    default:
      return mode === 'sse';
  }
}

/** Builds one step: the state as it changes, and the effects in order. */
class Transition {
  state: PolicyState;
  readonly effects: Effect[] = [];

  constructor(
    private readonly env: PolicyEnv,
    state: PolicyState,
  ) {
    this.state = state;
  }

  on(e: PolicyEvent): void {
    const s = this.state;
    if (s.mode === 'stopped') return;
    if (e.type === 'start') {
      this.start();
      return;
    }
    if (e.type === 'stop') {
      this.enter('stopped');
      return;
    }
    if (e.gen !== s.gen || !belongsTo(e, s.mode)) return;
    switch (e.type) {
      case 'advice':
        if (e.purpose === 'choose') this.chosen(e.result);
        else this.rechecked(e.result);
        return;
      case 'opened':
        // A resumed stream may have nothing to replay: its headers are all it can show.
        if (s.resumed) this.clearTimer('watchdog');
        // The EventSource reconnected by itself (after the server's `retry:`): back to live.
        if (s.consecutive > 0) {
          this.set({ consecutive: 0 });
          this.report('live', null);
        }
        return;
      case 'data':
        this.data(e.snapshot);
        return;
      case 'control':
        this.control(e);
        return;
      case 'shutdown':
        this.set({ expectReconnect: true });
        return;
      case 'serverError':
        this.report('waiting', e.message ? `${e.code}: ${e.message}` : e.code);
        return;
      case 'failed':
        this.failed(e.at, e.gaveUp, e.status, e.retryAfterMs);
        return;
      case 'polled':
        this.polled(e.outcome);
        return;
      case 'probed':
        this.scheduleProbe();
        return;
      case 'timer':
        this.timer(e.timer);
        return;
    }
  }

  // ---- choosing a transport ------------------------------------------------------------------

  private start(): void {
    if (this.state.mode !== 'idle') return;
    const gen = this.enter('deciding');
    const { force } = this.env.settings;
    if (force === 'poll') this.startPoll('forced', null);
    else if (force === 'sse') this.startStream(false, 'forced');
    else this.effects.push({ type: 'ask', gen, purpose: 'choose' });
  }

  /** What an answer of `/v1/transport` teaches whatever the purpose; null when it failed. */
  private advised(result: AdviceResult): TransportAdvice | null {
    if (!result.ok) {
      this.set({ adviceRetryAfterMs: result.retryAfterMs });
      return null;
    }
    const a = result.advice;
    this.set({
      adviceAttempt: 0,
      pollIntervalMs: a.pollIntervalMs > 0 ? a.pollIntervalMs : this.state.pollIntervalMs,
      recheckAfterMs: a.recheckAfterMs > 0 ? a.recheckAfterMs : null,
      rulesVersion: typeof a.rulesVersion === 'number' ? a.rulesVersion : this.state.rulesVersion,
    });
    if (a.transport === 'sse' && !this.env.canStream)
      return { ...a, transport: 'poll', reason: 'no_eventsource' };
    return a;
  }

  private chosen(result: AdviceResult): void {
    const advice = this.advised(result);
    if (advice === null) {
      this.startPoll('transport_unavailable', this.adviceRetryMs());
      return;
    }
    // A tab taking over from another one resumes from the state it mirrored.
    if (advice.transport === 'sse') {
      this.startStream(this.env.hasPosition, advice.reason);
      return;
    }
    this.startPoll(advice.reason, advice.recheckAfterMs);
  }

  /** While polling: streams if the gateway now says so, else asks again later. */
  private rechecked(result: AdviceResult): void {
    const advice = this.advised(result);
    if (advice?.transport === 'sse') {
      this.startStream(false, advice.reason);
      return;
    }
    let next: number;
    if (advice === null) next = this.adviceRetryMs();
    else {
      // The rollout (not a fallback) is now why this kit polls; it says when to ask again.
      next = advice.recheckAfterMs;
      if (advice.reason === 'no_eventsource') return;
      this.setReason(advice.reason);
    }
    this.setTimer('recheck', spread(next, this.env.random));
  }

  private adviceRetryMs(): number {
    const { adviceAttempt, adviceRetryAfterMs } = this.state;
    const wait = backoff(
      adviceAttempt,
      this.env.settings.reconnectBaseMs,
      ADVICE_RETRY_MAX_MS,
      this.env.random,
    );
    this.set({ adviceAttempt: adviceAttempt + 1 });
    return Math.max(adviceRetryAfterMs ?? 0, wait);
  }

  // ---- streaming ---------------------------------------------------------------------------

  /** `resume`: continue from the last event id (replay) instead of asking for a snapshot. */
  private startStream(resume: boolean, reason: string): void {
    if (!this.env.canStream) {
      this.startPoll('no_eventsource', null);
      return;
    }
    const gen = this.enter('sse');
    this.set({ reason, resumed: resume });
    this.report('connecting', null);
    // The watchdog: a buffering proxy delivers nothing (or only headers) until the response ends.
    this.setTimer('watchdog', this.env.settings.snapshotTimeoutMs);
    this.effects.push({ type: 'openStream', gen, resume });
  }

  private data(snapshot: boolean): void {
    this.clearTimer('watchdog');
    if (snapshot) {
      this.healthy();
      this.report('live', null);
      if (!this.state.timers.has('probe')) this.scheduleProbe();
    } else if (this.state.consecutive > 0 || this.state.reconnectAttempt > 0) {
      this.healthy();
      this.report('live', null);
    }
  }

  private scheduleProbe(): void {
    const delay = PROBE_DELAYS_MS[this.state.probes] ?? PROBE_EVERY_MS;
    this.setTimer('probe', spread(delay, this.env.random));
  }

  private control(c: Extract<PolicyEvent, { type: 'control' }>): void {
    if (c.transport !== 'poll') return;
    const s = this.state;
    this.set({
      pollIntervalMs:
        typeof c.pollIntervalMs === 'number' && c.pollIntervalMs > 0 ? c.pollIntervalMs : s.pollIntervalMs,
      recheckAfterMs:
        typeof c.recheckAfterMs === 'number' && c.recheckAfterMs > 0 ? c.recheckAfterMs : s.recheckAfterMs,
      rulesVersion: typeof c.rulesVersion === 'number' ? c.rulesVersion : s.rulesVersion,
    });
    this.startPoll(`control:${c.reason}`, this.state.recheckAfterMs ?? CONTROL_RECHECK_MS);
  }

  private failed(at: number, gaveUp: boolean, status: number | null, retryAfterMs: number | null): void {
    const lastError = status === null ? 'stream interrupted' : `stream answered ${status}`;
    if (!gaveUp && this.state.expectReconnect) {
      // The gateway drained this stream and said when to come back (`retry:`): not a failure.
      this.set({ expectReconnect: false });
      this.report('waiting', null);
      return;
    }
    if (this.countFailure(at)) return;
    const consecutive = this.state.consecutive + 1;
    this.set({ consecutive });
    if (!gaveUp && consecutive < 2) {
      // Let the EventSource reconnect on its own: it honours `retry:` and sends Last-Event-ID.
      this.report('waiting', lastError);
      return;
    }
    this.clearTimer('watchdog');
    this.effects.push({ type: 'closeStream' });
    const { reconnectBaseMs, reconnectMaxMs } = this.env.settings;
    const attempt = this.state.reconnectAttempt;
    const wait = Math.max(
      retryAfterMs ?? 0,
      backoff(attempt, reconnectBaseMs, reconnectMaxMs, this.env.random),
    );
    this.set({ reconnectAttempt: attempt + 1 });
    this.report('waiting', lastError);
    this.setTimer('reconnect', wait);
  }

  /** Records a failure; true when there were too many and the kit fell back to polling. */
  private countFailure(at: number): boolean {
    const { errorWindowMs, maxErrors } = this.env.settings;
    const failures = [...this.state.failures.filter((t) => at - t < errorWindowMs), at];
    this.set({ failures });
    if (failures.length < maxErrors) return false;
    this.fallback('errors');
    return true;
  }

  private healthy(): void {
    this.set({ consecutive: 0, reconnectAttempt: 0, fallbacks: 0 });
  }

  /** Streaming does not work from here: poll, and try streaming again later (doubling delays). */
  private fallback(why: 'no_snapshot' | 'errors'): void {
    const { streamRetryMs, maxStreamRetryMs } = this.env.settings;
    const retryIn = backoff(this.state.fallbacks, streamRetryMs * 2, maxStreamRetryMs, this.env.random);
    this.set({ fallbacks: this.state.fallbacks + 1, failures: [], consecutive: 0 });
    this.startPoll(`fallback:${why}`, retryIn);
  }

  // ---- polling -----------------------------------------------------------------------------

  /** Polls now and then at the advertised interval; `recheckMs`: when to ask about streaming (null: never). */
  private startPoll(reason: string, recheckMs: number | null): void {
    const gen = this.enter('poll');
    this.set({ reason });
    this.report('connecting', null);
    if (recheckMs !== null) this.setTimer('recheck', spread(recheckMs, this.env.random));
    this.effects.push({ type: 'poll', gen });
  }

  private polled(o: PollOutcome): void {
    const s = this.state;
    const { reconnectBaseMs, reconnectMaxMs } = this.env.settings;
    if (!o.ok) {
      const wait = backoff(s.pollAttempt, reconnectBaseMs, reconnectMaxMs, this.env.random);
      this.set({ pollAttempt: s.pollAttempt + 1 });
      this.report('waiting', o.error);
      // Told when to come back: at least that long. Otherwise back off, never faster than the interval.
      this.setTimer(
        'poll',
        o.retryAfterMs !== null ? Math.max(o.retryAfterMs, wait) : Math.max(wait, s.pollIntervalMs),
      );
      return;
    }
    this.set({ pollAttempt: 0, pollIntervalMs: o.intervalMs ?? s.pollIntervalMs });
    // The rules changed since this kit asked (kill switch lifted, percentage raised): ask now,
    // not at the next recheck. Only when a recheck is pending (the rollout is why it polls).
    if (
      o.rulesVersion !== null &&
      s.rulesVersion !== null &&
      o.rulesVersion !== s.rulesVersion &&
      s.timers.has('recheck')
    ) {
      this.set({ rulesVersion: o.rulesVersion });
      this.clearTimer('recheck');
      this.effects.push({ type: 'ask', gen: s.gen, purpose: 'recheck' });
    }
    this.report('live', null);
    // The interval runs from the start of this poll, spread a little so clients do not align.
    this.setTimer('poll', Math.max(0, spread(this.state.pollIntervalMs, this.env.random) - o.elapsedMs));
  }

  // ---- timers ------------------------------------------------------------------------------

  private timer(name: TimerName): void {
    if (!this.state.timers.has(name)) return;
    this.dropTimer(name);
    const gen = this.state.gen;
    switch (name) {
      case 'watchdog':
        this.fallback('no_snapshot');
        return;
      case 'reconnect':
        this.startStream(this.env.hasPosition, this.state.reason);
        return;
      case 'poll':
        this.effects.push({ type: 'poll', gen });
        return;
      case 'recheck':
        this.effects.push({ type: 'ask', gen, purpose: 'recheck' });
        return;
      case 'probe':
        this.set({ probes: this.state.probes + 1 });
        this.effects.push({ type: 'probe', gen });
        return;
    }
  }

  private setTimer(timer: TimerName, ms: number): void {
    this.set({ timers: new Set(this.state.timers).add(timer) });
    this.effects.push({ type: 'setTimer', gen: this.state.gen, timer, ms });
  }

  private clearTimer(timer: TimerName): void {
    if (!this.state.timers.has(timer)) return;
    this.dropTimer(timer);
    this.effects.push({ type: 'clearTimer', timer });
  }

  /** Forgets a timer that fired (the engine's slot is empty already). */
  private dropTimer(timer: TimerName): void {
    const timers = new Set(this.state.timers);
    timers.delete(timer);
    this.set({ timers });
  }

  // ---- plumbing ----------------------------------------------------------------------------

  private set(patch: Partial<PolicyState>): void {
    this.state = { ...this.state, ...patch };
  }

  private report(phase: KitStatus['phase'], lastError: string | null): void {
    const { mode, reason } = this.state;
    const transport = mode === 'sse' ? 'sse' : mode === 'poll' ? 'poll' : 'none';
    this.effects.push({ type: 'status', status: { transport, phase, reason, lastError } });
  }

  private setReason(reason: string): void {
    if (reason === this.state.reason) return;
    this.set({ reason });
    this.report('live', null);
  }

  /**
   * Leaves the current mode (applying what is queued, closing its stream, timers and requests)
   * and enters another. Returns the new generation.
   */
  private enter(mode: Mode): number {
    this.effects.push({ type: 'flush' }, { type: 'closeStream' });
    for (const timer of this.state.timers) this.effects.push({ type: 'clearTimer', timer });
    this.effects.push({ type: 'abortRequests' });
    const gen = this.state.gen + 1;
    this.set({ mode, gen, expectReconnect: false, timers: NO_TIMERS });
    if (mode === 'stopped')
      this.effects.push({
        type: 'status',
        status: { transport: 'none', phase: 'closed', reason: 'closed', lastError: null },
      });
    return gen;
  }
}
