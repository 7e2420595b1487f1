import { retryAfterMs } from './backoff.ts';
import type { ClockOffset } from './clock.ts';
import type { PolicySettings } from './defaults.ts';
import { buildUrl, fetchAdvice, type HttpDeps, poll } from './http.ts';
import {
  type AskPurpose,
  type Effect,
  initialState,
  type PolicyEnv,
  type PolicyEvent,
  type PolicyState,
  step,
  type TimerName,
} from './policy.ts';
import { arrivals } from './reducer.ts';
import { openStream } from './sse.ts';
import type { LatencyReporter } from './telemetry.ts';
import { Slot, type Timers } from './timers.ts';
import type { ClientState, EventSourceConstructor, KitAction, KitStatus } from './types.ts';

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
  settings: PolicySettings;
  /** Applies actions to the kit's state and returns the new state. */
  apply(actions: KitAction[]): ClientState;
  state(): ClientState;
  status(s: Pick<KitStatus, 'transport' | 'phase' | 'reason' | 'lastError'>): void;
}

/**
 * The connection owner of one kit (of the leader tab when tabs share). Every decision is the
 * transport policy's (policy.ts, a pure state machine); the engine feeds it events and runs the
 * effects it returns: the EventSource, the requests, the timers. Besides that it does what
 * touches data: stream events and poll bodies go to the reducer (updates of one task in one
 * batch), timed answers to the clock estimate, arrivals to the latency reporter.
 */
export class Engine {
  private policy: PolicyState;
  private readonly abort = new Set<AbortController>();
  private stream: { close(): void } | null = null;
  private readonly slots: Record<TimerName, Slot>;
  private queued: KitAction[] = [];
  private flushScheduled = false;

  constructor(private readonly d: EngineDeps) {
    this.policy = initialState(d.settings);
    const slot = () => new Slot(d.timers);
    this.slots = { watchdog: slot(), reconnect: slot(), poll: slot(), recheck: slot(), probe: slot() };
  }

  start(): void {
    this.dispatch({ type: 'start' });
  }

  stop(): void {
    this.dispatch({ type: 'stop' });
  }

  /** One step of the policy, then its effects, in order. */
  private dispatch(event: PolicyEvent): void {
    const env: PolicyEnv = {
      settings: this.d.settings,
      canStream: this.d.EventSource !== null,
      hasPosition: this.d.state().position !== null,
      random: this.d.random,
    };
    const { state, effects } = step(env, this.policy, event);
    this.policy = state;
    for (const e of effects) this.run(e);
  }

  private run(e: Effect): void {
    switch (e.type) {
      case 'flush':
        this.flush();
        return;
      case 'abortRequests':
        for (const c of this.abort) c.abort();
        this.abort.clear();
        return;
      case 'closeStream':
        this.stream?.close();
        this.stream = null;
        return;
      case 'openStream':
        this.openStream(e.gen, e.resume);
        return;
      case 'ask':
        void this.ask(e.gen, e.purpose);
        return;
      case 'probe':
        void this.probe(e.gen);
        return;
      case 'poll':
        void this.pollOnce(e.gen);
        return;
      case 'setTimer':
        this.slots[e.timer].set(() => this.dispatch({ type: 'timer', gen: e.gen, timer: e.timer }), e.ms);
        return;
      case 'clearTimer':
        this.slots[e.timer].clear();
        return;
      case 'status':
        this.d.status(e.status);
        return;
    }
  }

  // ---- requests ----------------------------------------------------------------------------

  /** `GET /v1/transport`, timed: its answer goes to the clock estimate and, as advice, to the policy. */
  private async ask(gen: number, purpose: AskPurpose): Promise<void> {
    const res = await this.timedTransport(gen);
    if (res === null) return;
    this.dispatch({
      type: 'advice',
      gen,
      purpose,
      result: res.ok ? { ok: true, advice: res.value } : { ok: false, retryAfterMs: res.retryAfterMs },
    });
  }

  /**
   * A streaming kit makes few requests, and the first ones are slow (connection set-up), which
   * makes for a poor clock estimate: cheap timed requests (`/v1/transport`) give it fast
   * exchanges to work with. Only the clock learns from them.
   */
  private async probe(gen: number): Promise<void> {
    if ((await this.timedTransport(gen)) !== null) this.dispatch({ type: 'probed', gen });
  }

  /**
   * `GET /v1/transport`, its timing given to the clock estimate; null when the mode that asked
   * (generation `gen`) is over by the time it answers.
   */
  private async timedTransport(gen: number): Promise<Awaited<ReturnType<typeof fetchAdvice>> | null> {
    const ctl = this.controller();
    const res = await fetchAdvice(this.d.http, this.url('/v1/transport'), ctl.signal);
    this.abort.delete(ctl);
    if (gen !== this.policy.gen) return null;
    if (res.sentAt !== undefined && res.receivedAt !== undefined && res.serverTime != null)
      this.d.clock.observeResponse(res.sentAt, res.receivedAt, res.serverTime);
    return res;
  }

  private async pollOnce(gen: number): Promise<void> {
    const ctl = this.controller();
    const { position } = this.d.state();
    const res = await poll(this.d.http, this.url('/v1/snapshot'), position, ctl.signal);
    this.abort.delete(ctl);
    if (gen !== this.policy.gen) return;
    const timed = res.kind === 'failed' ? res.timed : res;
    if (timed?.serverTime != null)
      this.d.clock.observeResponse(timed.sentAt, timed.receivedAt, timed.serverTime);
    if (res.kind === 'failed') {
      this.dispatch({
        type: 'polled',
        gen,
        outcome: { ok: false, retryAfterMs: res.retryAfterMs, error: res.error },
      });
      return;
    }
    if (res.kind === 'body') {
      const prev = this.d.state();
      const next = this.d.apply([{ type: 'poll', body: res.body }]);
      if (this.d.reporter) {
        const arrivedAt = res.receivedAt + this.d.clock.offset(res.receivedAt);
        for (const createdAt of arrivals(prev, next)) this.d.reporter.record('poll', arrivedAt - createdAt);
      }
    }
    this.dispatch({
      type: 'polled',
      gen,
      outcome: {
        ok: true,
        intervalMs: res.intervalMs,
        rulesVersion: res.rulesVersion,
        elapsedMs: res.receivedAt - res.sentAt,
      },
    });
  }

  // ---- the stream --------------------------------------------------------------------------

  /** `resume`: continue from the last event id (replay) instead of asking for a snapshot. */
  private openStream(gen: number, resume: boolean): void {
    const EventSource = this.d.EventSource;
    if (EventSource === null) return; // the policy never asks without one (env.canStream)
    const position = resume ? this.d.state().position : null;
    const url = this.url('/v1/stream', position === null ? {} : { lastEventId: position });
    let retryAfter: number | null = null;
    const fetchWrapper: typeof fetch = async (input, init) => {
      const res = await this.d.http.fetch(input, init);
      if (res.status !== 200) retryAfter = retryAfterMs(res.headers.get('retry-after'), this.d.http.now());
      return res;
    };
    this.stream = openStream(
      {
        EventSource,
        url,
        withCredentials: this.d.http.withCredentials,
        fetch: fetchWrapper,
        now: this.d.http.now,
      },
      {
        opened: () => this.dispatch({ type: 'opened', gen }),
        snapshot: (data, at) => {
          this.d.clock.observeEvent(at, data.serverTime);
          this.enqueue({ type: 'snapshot', data });
          this.dispatch({ type: 'data', gen, snapshot: true });
        },
        update: (data, id, at) => {
          this.dispatch({ type: 'data', gen, snapshot: false });
          this.d.clock.observeEvent(at, data.appliedAt);
          if (this.d.reporter && data.op !== 'delete')
            this.d.reporter.record('sse', at + this.d.clock.offset(at) - data.createdAt);
          this.enqueue({ type: 'update', data, id });
        },
        control: (c) => this.dispatch({ ...c, type: 'control', gen }),
        shutdown: () => this.dispatch({ type: 'shutdown', gen }),
        serverError: (code, message) => this.dispatch({ type: 'serverError', gen, code, message }),
        failed: (gaveUp, status) =>
          this.dispatch({
            type: 'failed',
            gen,
            at: this.d.http.now(),
            gaveUp,
            status,
            retryAfterMs: retryAfter,
          }),
      },
    );
  }

  // ---- plumbing ----------------------------------------------------------------------------

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
