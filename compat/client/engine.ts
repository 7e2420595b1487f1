import { backoff, retryAfterMs, spread } from './backoff.ts';
import type { ClockOffset } from './clock.ts';
import { buildUrl, type Fetched, fetchAdvice, type HttpDeps, poll } from './http.ts';
import { arrivals } from './reducer.ts';
import { openStream } from './sse.ts';
import type { LatencyReporter } from './telemetry.ts';
import { Slot, type Timers } from './timers.ts';
import type {
  ClientState,
  ControlEventData,
  EventSourceConstructor,
  KitAction,
  KitStatus,
  SnapshotEventData,
  TransportAdvice,
  UpdateEventData,
} from './types.ts';

/** Tunables of the engine; connect() fills in the defaults (docs/client-kit.md). */
export interface EngineSettings {
  /** A fresh stream that brings no snapshot within this long sits behind a buffering proxy. */
  snapshotTimeoutMs: number;
  /** This many stream failures within `errorWindowMs` send the kit to polling. */
  maxErrors: number;
  errorWindowMs: number;
  /** First delay before streaming is tried again after a fallback; doubles up to the max. */
  streamRetryMs: number;
  maxStreamRetryMs: number;
  /** Backoff of the kit's own stream reconnects and of failing polls. */
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** Used until the gateway advertises its interval. */
  pollIntervalMs: number;
  /** Skip `/v1/transport`: always this transport (debugging, tests). */
  force: 'sse' | 'poll' | null;
}

export interface EngineDeps {
  baseUrl: string;
  clientId: string;
  streams: readonly string[] | null;
  http: HttpDeps;
  EventSource: EventSourceConstructor | null;
  timers: Timers;
  random: () => number;
  /** Extra query parameters for every request (e.g. a stream token), read at each request. */
  params: () => Record<string, string>;
  clock: ClockOffset;
  reporter: LatencyReporter | null;
  settings: EngineSettings;
  /** Applies actions to the kit's state and returns the new state. */
  apply(actions: KitAction[]): ClientState;
  state(): ClientState;
  status(s: Pick<KitStatus, 'transport' | 'phase' | 'reason' | 'lastError'>): void;
}

type Mode = 'idle' | 'deciding' | 'sse' | 'poll' | 'stopped';

/** Timed requests a streaming kit makes for its clock estimate: soon after connecting, then rarely. */
const PROBE_DELAYS_MS = [1000, 3000, 10_000];
const PROBE_EVERY_MS = 5 * 60_000;

/**
 * The connection owner of one kit (of the leader tab when tabs share): asks the gateway which
 * transport to use, then streams or polls, and moves between them.
 * - SSE: the first reconnect after a failure is the EventSource's own (it honours the server's
 *   `retry:` and sends Last-Event-ID); when that fails too, the engine reconnects itself with
 *   exponential backoff and jitter (and any `Retry-After` it could read), resuming from the last
 *   event id. `maxErrors` failures within `errorWindowMs`, or a fresh stream without a snapshot
 *   within `snapshotTimeoutMs` (a buffering proxy), fall back to polling; streaming is tried
 *   again later (`streamRetryMs`, doubling).
 * - Poll: `GET /v1/snapshot` every advertised interval with If-None-Match, backing off on
 *   errors and honouring `Retry-After`; while polling it asks `/v1/transport` again every
 *   `recheckAfterMs` (rollout) or when the fallback's stream retry is due.
 * A `control` event on the stream switches to polling at once, keeping the state.
 */
export class Engine {
  private mode: Mode = 'idle';
  /** Why the current transport: shown in the status. */
  private reason = '';
  /** Bumped on every mode change: late async results of an old mode are dropped. */
  private gen = 0;
  private readonly abort = new Set<AbortController>();
  private stream: { close(): void } | null = null;
  private readonly watchdog: Slot;
  private readonly reconnect: Slot;
  private readonly pollTimer: Slot;
  private readonly recheck: Slot;
  private readonly probe: Slot;
  private probes = 0;
  private failures: number[] = [];
  private consecutive = 0;
  private reconnectAttempt = 0;
  private expectReconnect = false;
  private fallbacks = 0;
  private pollAttempt = 0;
  private adviceAttempt = 0;
  /** Retry-After of the last failed `/v1/transport`, honoured before asking again. */
  private lastAdviceRetryAfter: number | null = null;
  private pollIntervalMs: number;
  private recheckAfterMs: number | null = null;
  /** Rules version of the last /v1/transport answer (null: unknown). */
  private rulesVersion: number | null = null;
  private queued: KitAction[] = [];
  private flushScheduled = false;

  constructor(private readonly d: EngineDeps) {
    this.watchdog = new Slot(d.timers);
    this.reconnect = new Slot(d.timers);
    this.pollTimer = new Slot(d.timers);
    this.recheck = new Slot(d.timers);
    this.probe = new Slot(d.timers);
    this.pollIntervalMs = d.settings.pollIntervalMs;
  }

  start(): void {
    if (this.mode !== 'idle') return;
    const gen = this.enter('deciding');
    const { force } = this.d.settings;
    if (force !== null) {
      if (force === 'poll') this.startPoll('forced', null);
      else this.startStream(false, 'forced');
      return;
    }
    void this.ask(gen).then((advice) => {
      if (gen !== this.gen) return;
      if (advice === null) return this.startPoll('transport_unavailable', this.adviceRetryMs());
      // A tab taking over from another one resumes from the state it mirrored.
      if (advice.transport === 'sse')
        return this.startStream(this.d.state().position !== null, advice.reason);
      this.startPoll(advice.reason, advice.recheckAfterMs);
    });
  }

  stop(): void {
    this.enter('stopped');
  }

  // ---- choosing a transport ------------------------------------------------------------------

  /** `GET /v1/transport`; null when it failed. A `sse` answer without EventSource reads as poll. */
  private async ask(gen: number): Promise<TransportAdvice | null> {
    const ctl = this.controller();
    const res: Fetched<TransportAdvice> = await fetchAdvice(
      this.d.http,
      this.url('/v1/transport'),
      ctl.signal,
    );
    this.abort.delete(ctl);
    if (gen !== this.gen) return null;
    if (res.sentAt !== undefined && res.receivedAt !== undefined && res.serverTime != null)
      this.d.clock.observeResponse(res.sentAt, res.receivedAt, res.serverTime);
    if (!res.ok) {
      this.lastAdviceRetryAfter = res.retryAfterMs;
      return null;
    }
    this.adviceAttempt = 0;
    const a = res.value;
    if (a.pollIntervalMs > 0) this.pollIntervalMs = a.pollIntervalMs;
    this.recheckAfterMs = a.recheckAfterMs > 0 ? a.recheckAfterMs : null;
    if (typeof a.rulesVersion === 'number') this.rulesVersion = a.rulesVersion;
    if (a.transport === 'sse' && this.d.EventSource === null)
      return { ...a, transport: 'poll', reason: 'no_eventsource' };
    return a;
  }

  private adviceRetryMs(): number {
    const wait = backoff(this.adviceAttempt++, this.d.settings.reconnectBaseMs, 60_000, this.d.random);
    return Math.max(this.lastAdviceRetryAfter ?? 0, wait);
  }

  /** While polling: asks again, and streams if the gateway now says so. */
  private async recheckTransport(): Promise<void> {
    const gen = this.gen;
    const advice = await this.ask(gen);
    if (gen !== this.gen) return;
    if (advice?.transport === 'sse') return this.startStream(false, advice.reason);
    let next: number;
    if (advice === null) next = this.adviceRetryMs();
    else {
      // The rollout (not a fallback) is now why this kit polls; it says when to ask again.
      next = advice.recheckAfterMs;
      if (advice.reason === 'no_eventsource') return;
      this.setReason(advice.reason);
    }
    this.recheck.set(
      () => {
        if (gen === this.gen) void this.recheckTransport();
      },
      spread(next, this.d.random),
    );
  }

  // ---- streaming ---------------------------------------------------------------------------

  /** `resume`: continue from the last event id (replay) instead of asking for a snapshot. */
  private startStream(resume: boolean, reason: string): void {
    if (this.d.EventSource === null) {
      this.startPoll('no_eventsource', null);
      return;
    }
    const gen = this.enter('sse');
    if (gen < 0) return;
    this.reason = reason;
    const position = resume ? this.d.state().position : null;
    const url = this.url('/v1/stream', position === null ? {} : { lastEventId: position });
    this.report('connecting');
    let retryAfter: number | null = null;
    const fetchWrapper: typeof fetch = async (input, init) => {
      const res = await this.d.http.fetch(input, init);
      if (res.status !== 200) retryAfter = retryAfterMs(res.headers.get('retry-after'), this.d.http.now());
      return res;
    };
    // The watchdog: a buffering proxy delivers nothing (or only headers) until the response ends.
    this.watchdog.set(() => {
      if (gen === this.gen) this.fallback('no_snapshot');
    }, this.d.settings.snapshotTimeoutMs);
    this.stream = openStream(
      {
        EventSource: this.d.EventSource,
        url,
        withCredentials: this.d.http.withCredentials,
        fetch: fetchWrapper,
        now: this.d.http.now,
      },
      {
        opened: () => {
          // A resumed stream may have nothing to replay: its headers are all it can show.
          if (position !== null) this.watchdog.clear();
          // The EventSource reconnected by itself (after the server's `retry:`): back to live.
          if (this.consecutive > 0) {
            this.consecutive = 0;
            this.report('live', null);
          }
        },
        snapshot: (data, at) => this.onSnapshot(data, at),
        update: (data, id, at) => this.onUpdate(data, id, at),
        control: (data) => this.onControl(data),
        shutdown: () => {
          this.expectReconnect = true;
        },
        serverError: (code, message) => this.report('waiting', message ? `${code}: ${message}` : code),
        failed: (gaveUp, status) => this.onStreamFailure(gaveUp, status, retryAfter),
      },
    );
  }

  private onSnapshot(data: SnapshotEventData, at: number): void {
    this.watchdog.clear();
    this.healthy();
    this.d.clock.observeEvent(at, data.serverTime);
    this.enqueue({ type: 'snapshot', data });
    this.report('live', null);
    if (!this.probe.pending) this.scheduleProbe(this.gen);
  }

  /**
   * A streaming kit makes few requests, and the first ones are slow (connection set-up), which
   * makes for a poor clock estimate: a few cheap timed requests (`/v1/transport`) after the
   * stream is up, then one every five minutes, give it fast exchanges to work with.
   */
  private scheduleProbe(gen: number): void {
    const delay = PROBE_DELAYS_MS[this.probes] ?? PROBE_EVERY_MS;
    this.probe.set(
      () => {
        if (gen !== this.gen) return;
        this.probes++;
        void this.ask(gen).then(() => {
          if (gen === this.gen) this.scheduleProbe(gen);
        });
      },
      spread(delay, this.d.random),
    );
  }

  private onUpdate(data: UpdateEventData, id: string | null, at: number): void {
    this.watchdog.clear();
    if (this.consecutive > 0 || this.reconnectAttempt > 0) {
      this.healthy();
      this.report('live', null);
    }
    this.d.clock.observeEvent(at, data.appliedAt);
    if (this.d.reporter && data.op !== 'delete')
      this.d.reporter.record('sse', at + this.d.clock.offset(at) - data.createdAt);
    this.enqueue({ type: 'update', data, id });
  }

  private onControl(data: ControlEventData): void {
    if (data.transport !== 'poll') return;
    if (typeof data.pollIntervalMs === 'number' && data.pollIntervalMs > 0)
      this.pollIntervalMs = data.pollIntervalMs;
    if (typeof data.recheckAfterMs === 'number' && data.recheckAfterMs > 0)
      this.recheckAfterMs = data.recheckAfterMs;
    if (typeof data.rulesVersion === 'number') this.rulesVersion = data.rulesVersion;
    this.startPoll(`control:${data.reason}`, this.recheckAfterMs ?? 60_000);
  }

  private onStreamFailure(gaveUp: boolean, status: number | null, retryAfterMs: number | null): void {
    const lastError = status === null ? 'stream interrupted' : `stream answered ${status}`;
    if (!gaveUp && this.expectReconnect) {
      // The gateway drained this stream and said when to come back (`retry:`): not a failure.
      this.expectReconnect = false;
      this.report('waiting', null);
      return;
    }
    if (this.countFailure()) return;
    this.consecutive++;
    if (!gaveUp && this.consecutive < 2) {
      // Let the EventSource reconnect on its own: it honours `retry:` and sends Last-Event-ID.
      this.report('waiting', lastError);
      return;
    }
    this.closeStream();
    const { reconnectBaseMs, reconnectMaxMs } = this.d.settings;
    const wait = Math.max(
      retryAfterMs ?? 0,
      backoff(this.reconnectAttempt++, reconnectBaseMs, reconnectMaxMs, this.d.random),
    );
    this.report('waiting', lastError);
    const gen = this.gen;
    const reason = this.reason;
    this.reconnect.set(() => {
      if (gen === this.gen) this.startStream(this.d.state().position !== null, reason);
    }, wait);
  }

  /** Records a failure; true when there were too many and the kit fell back to polling. */
  private countFailure(): boolean {
    const now = this.d.http.now();
    const { errorWindowMs, maxErrors } = this.d.settings;
    this.failures = this.failures.filter((t) => now - t < errorWindowMs);
    this.failures.push(now);
    if (this.failures.length < maxErrors) return false;
    this.fallback('errors');
    return true;
  }

  private healthy(): void {
    this.consecutive = 0;
    this.reconnectAttempt = 0;
    this.fallbacks = 0;
  }

  /** Streaming does not work from here: poll, and try streaming again later (doubling delays). */
  private fallback(why: 'no_snapshot' | 'errors'): void {
    const { streamRetryMs, maxStreamRetryMs } = this.d.settings;
    const retryIn = backoff(this.fallbacks++, streamRetryMs * 2, maxStreamRetryMs, this.d.random);
    this.failures = [];
    this.consecutive = 0;
    this.startPoll(`fallback:${why}`, retryIn);
  }

  private closeStream(): void {
    this.watchdog.clear();
    this.stream?.close();
    this.stream = null;
  }

  // ---- polling -----------------------------------------------------------------------------

  /** Polls now and then at the advertised interval; `recheckMs`: when to ask about streaming (null: never). */
  private startPoll(reason: string, recheckMs: number | null): void {
    const gen = this.enter('poll');
    if (gen < 0) return;
    this.reason = reason;
    this.report('connecting', null);
    if (recheckMs !== null)
      this.recheck.set(
        () => {
          if (gen === this.gen) void this.recheckTransport();
        },
        spread(recheckMs, this.d.random),
      );
    void this.pollOnce(gen);
  }

  private async pollOnce(gen: number): Promise<void> {
    const ctl = this.controller();
    const { position } = this.d.state();
    const res = await poll(this.d.http, this.url('/v1/snapshot'), position, ctl.signal);
    this.abort.delete(ctl);
    if (gen !== this.gen) return;
    const timed = res.kind === 'failed' ? res.timed : res;
    if (timed?.serverTime != null)
      this.d.clock.observeResponse(timed.sentAt, timed.receivedAt, timed.serverTime);
    let delay: number;
    if (res.kind === 'failed') {
      const { reconnectBaseMs, reconnectMaxMs } = this.d.settings;
      const wait = backoff(this.pollAttempt++, reconnectBaseMs, reconnectMaxMs, this.d.random);
      // Told when to come back: at least that long. Otherwise back off, never faster than the interval.
      delay =
        res.retryAfterMs !== null ? Math.max(res.retryAfterMs, wait) : Math.max(wait, this.pollIntervalMs);
      this.report('waiting', res.error);
    } else {
      this.pollAttempt = 0;
      if (res.intervalMs !== null) this.pollIntervalMs = res.intervalMs;
      // The rules changed since this kit asked (kill switch lifted, percentage raised): ask now,
      // not at the next recheck. Only when a recheck is pending (the rollout is why it polls).
      if (
        res.rulesVersion !== null &&
        this.rulesVersion !== null &&
        res.rulesVersion !== this.rulesVersion &&
        this.recheck.pending
      ) {
        this.rulesVersion = res.rulesVersion;
        this.recheck.clear();
        void this.recheckTransport();
      }
      if (res.kind === 'body') {
        const prev = this.d.state();
        const next = this.d.apply([{ type: 'poll', body: res.body }]);
        if (this.d.reporter) {
          const arrivedAt = res.receivedAt + this.d.clock.offset(res.receivedAt);
          for (const createdAt of arrivals(prev, next)) this.d.reporter.record('poll', arrivedAt - createdAt);
        }
      }
      this.report('live', null);
      // The interval runs from the start of this poll, spread a little so clients do not align.
      delay = Math.max(0, spread(this.pollIntervalMs, this.d.random) - (res.receivedAt - res.sentAt));
    }
    this.pollTimer.set(() => {
      if (gen === this.gen) void this.pollOnce(gen);
    }, delay);
  }

  // ---- plumbing ----------------------------------------------------------------------------

  private report(phase: KitStatus['phase'], lastError?: string | null): void {
    const transport = this.mode === 'sse' ? 'sse' : this.mode === 'poll' ? 'poll' : 'none';
    this.d.status({ transport, phase, reason: this.reason, lastError: lastError ?? null });
  }

  private setReason(reason: string): void {
    if (reason === this.reason) return;
    this.reason = reason;
    this.report('live', null);
  }

  /**
   * Leaves the current mode (applying what is queued, closing its stream, timers and requests)
   * and enters another. Returns the new generation, or -1 once stopped.
   */
  private enter(mode: Mode): number {
    if (this.mode === 'stopped') return -1;
    this.flush();
    this.closeStream();
    this.reconnect.clear();
    this.pollTimer.clear();
    this.recheck.clear();
    this.probe.clear();
    for (const c of this.abort) c.abort();
    this.abort.clear();
    this.expectReconnect = false;
    this.mode = mode;
    if (mode === 'stopped')
      this.d.status({ transport: 'none', phase: 'closed', reason: 'closed', lastError: null });
    return ++this.gen;
  }

  private controller(): AbortController {
    const c = new AbortController();
    this.abort.add(c);
    return c;
  }

  private url(
    path: '/v1/transport' | '/v1/stream' | '/v1/snapshot',
    extra: Record<string, string> = {},
  ): string {
    return buildUrl(this.d.baseUrl, path, {
      ...this.d.params(),
      ...(path === '/v1/transport' ? {} : { streams: this.d.streams?.join(',') }),
      clientId: this.d.clientId,
      ...extra,
    });
  }

  /** Updates of one task are applied together: one state copy and one onState per batch. */
  private enqueue(a: KitAction): void {
    this.queued.push(a);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.queued.length === 0) return;
    const batch = this.queued;
    this.queued = [];
    this.d.apply(batch);
  }
}
