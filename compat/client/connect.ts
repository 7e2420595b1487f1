import { ClockOffset } from './clock.ts';
import { DEFAULTS, type PolicySettings } from './defaults.ts';
import { Engine } from './engine.ts';
import { buildUrl } from './http.ts';
import { adoptState, EMPTY_STATE, reduce } from './reducer.ts';
import { canShareTabs, TabGroup, type TabMessage } from './tabs.ts';
import { LatencyReporter, type TelemetryOptions } from './telemetry.ts';
import { realTimers, type Timers } from './timers.ts';
import type { ClientState, EventSourceConstructor, KitAction, KitStatus } from './types.ts';

/** Options of {@link connect}. Only `onState` is needed in a browser page served by the gateway. */
export interface ConnectOptions {
  /** Gateway origin, e.g. `https://live.example.com`. Default: the page's origin (required in Node). */
  baseUrl?: string;
  /**
   * Stable id of this client for the sticky rollout. Default in browsers: a random id kept in
   * localStorage (`switchyard.clientId`); in Node: a random id per connect().
   */
  clientId?: string;
  /** Streams to follow; default: all. */
  streams?: readonly string[];
  /** Called with the new state after each change (same shape as a `/v1/snapshot` body). */
  onState?: (state: ClientState) => void;
  /** Called when the transport, phase or reason changes. */
  onStatus?: (status: KitStatus) => void;
  /** EventSource implementation; default `globalThis.EventSource`. In Node pass the `eventsource` package's. */
  EventSource?: EventSourceConstructor;
  /** fetch implementation; default `globalThis.fetch`. */
  fetch?: typeof fetch;
  /** Extra query parameters on every request (e.g. `{ token }`); a function is read at each request. */
  params?: Record<string, string> | (() => Record<string, string>);
  /** Send cookies cross-origin (EventSource `withCredentials`, fetch `credentials: 'include'`). */
  withCredentials?: boolean;
  /** `auto` (default) asks `/v1/transport`; `sse` or `poll` force a transport. */
  transport?: 'auto' | 'sse' | 'poll';
  /** Share one connection between the tabs of this origin (default: true where the browser can). */
  shareTabs?: boolean;
  /** Latency reports to `POST /v1/telemetry`; `false` turns them off. */
  telemetry?: false | TelemetryOptions;
  /** Fresh stream without a snapshot for this long = a buffering proxy: poll instead. Default: {@link DEFAULTS}. */
  snapshotTimeoutMs?: number;
  /** Stream failures within `errorWindowMs` that send the kit to polling. Default: {@link DEFAULTS}. */
  maxErrors?: number;
  errorWindowMs?: number;
  /** First delay before streaming is retried after a fallback, doubling up to `maxStreamRetryMs`. Default: {@link DEFAULTS}. */
  streamRetryMs?: number;
  maxStreamRetryMs?: number;
  /** Backoff base and cap of reconnects and failed polls. Default: {@link DEFAULTS}. */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  /** Injectable clock, randomness and timers (tests). */
  now?: () => number;
  random?: () => number;
  timers?: Timers;
}

/** A running kit. */
export interface KitHandle {
  /** The current state (also passed to onState). */
  readonly state: ClientState;
  readonly status: KitStatus;
  /** Stops the connection (and hands the leadership to another tab). Idempotent. */
  close(): void;
}

const CLIENT_ID_KEY = 'switchyard.clientId';

/**
 * Connects to a Switchyard gateway and keeps `state` current over SSE or polling, as the
 * gateway's rollout decides (docs/client-kit.md). Replacing a polling loop:
 *
 * ```js
 * import { connect } from '/v1/client.js';
 * connect({ streams: ['orders', 'totals'], onState: render });
 * ```
 */
export function connect(options: ConnectOptions = {}): KitHandle {
  return new Kit(options);
}

class Kit implements KitHandle {
  state: ClientState = EMPTY_STATE;
  status: KitStatus;
  private engine: Engine | null = null;
  private readonly group: TabGroup | null = null;
  private synced = false;
  private closed = false;
  private lastHello = 0;
  private readonly clock = new ClockOffset();
  private readonly reporter: LatencyReporter | null;
  private readonly now: () => number;
  private readonly removeExitHook: () => void;

  constructor(private readonly o: ConnectOptions) {
    this.now = o.now ?? Date.now;
    this.status = {
      transport: 'none',
      phase: 'starting',
      reason: '',
      leader: true,
      clockOffsetMs: 0,
      lastError: null,
      since: this.now(),
    };
    const fetchImpl = o.fetch ?? globalThis.fetch?.bind(globalThis);
    if (typeof fetchImpl !== 'function')
      throw new TypeError('connect(): no fetch in this runtime; pass options.fetch');
    const baseUrl = o.baseUrl ?? pageOrigin();
    if (baseUrl === null)
      throw new TypeError('connect(): options.baseUrl is required outside a browser page');
    this.reporter =
      o.telemetry === false
        ? null
        : new LatencyReporter(
            {
              url: buildUrl(baseUrl, '/v1/telemetry', {}),
              fetch: fetchImpl,
              timers: o.timers ?? realTimers,
              random: o.random ?? Math.random,
              withCredentials: o.withCredentials ?? false,
            },
            o.telemetry ?? {},
          );
    this.removeExitHook = onPageExit(() => this.reporter?.flush(true));
    const startLeader = () => this.lead(baseUrl, fetchImpl);
    const share = (o.shareTabs ?? true) && canShareTabs();
    if (share) {
      this.status.leader = false;
      // Tabs share one connection only if it is the same one: same gateway, streams, client id
      // (the rollout decides per client id) and forced transport. Another id: another group.
      const key = [
        baseUrl,
        [...(o.streams ?? [])].sort().join(','),
        o.clientId ?? defaultClientId(),
        o.transport ?? 'auto',
      ].join('|');
      this.group = new TabGroup(key, startLeader, (m) => this.onTabMessage(m));
      this.hello();
    } else startLeader();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.engine?.stop();
    this.engine = null;
    this.reporter?.close();
    this.group?.close();
    this.removeExitHook();
    this.setStatus({ ...this.status, transport: 'none', phase: 'closed', reason: 'closed' });
  }

  /** This tab runs the connection (always, when tabs are not shared). */
  private lead(baseUrl: string, fetchImpl: typeof fetch): void {
    if (this.closed) return;
    this.synced = true;
    const o = this.o;
    const settings: PolicySettings = {
      snapshotTimeoutMs: o.snapshotTimeoutMs ?? DEFAULTS.snapshotTimeoutMs,
      maxErrors: o.maxErrors ?? DEFAULTS.maxErrors,
      errorWindowMs: o.errorWindowMs ?? DEFAULTS.errorWindowMs,
      streamRetryMs: o.streamRetryMs ?? DEFAULTS.streamRetryMs,
      maxStreamRetryMs: o.maxStreamRetryMs ?? DEFAULTS.maxStreamRetryMs,
      reconnectBaseMs: o.reconnectBaseMs ?? DEFAULTS.reconnectBaseMs,
      reconnectMaxMs: o.reconnectMaxMs ?? DEFAULTS.reconnectMaxMs,
      pollIntervalMs: DEFAULTS.pollIntervalMs,
      force: o.transport === 'sse' || o.transport === 'poll' ? o.transport : null,
    };
    const params = o.params;
    this.engine = new Engine({
      baseUrl,
      clientId: o.clientId ?? defaultClientId(),
      streams: o.streams ?? null,
      http: { fetch: fetchImpl, now: this.now, withCredentials: o.withCredentials ?? false },
      EventSource: o.EventSource ?? globalEventSource(),
      timers: o.timers ?? realTimers,
      random: o.random ?? Math.random,
      params: typeof params === 'function' ? params : () => params ?? {},
      clock: this.clock,
      reporter: this.reporter,
      settings,
      apply: (actions) => this.apply(actions),
      state: () => this.state,
      status: (s) => this.setStatus({ ...this.status, ...s, leader: true }),
    });
    this.engine.start();
  }

  /** The leader's step: reduce, tell the other tabs, then onState. */
  private apply(actions: KitAction[]): ClientState {
    const next = reduce(this.state, actions);
    if (this.engine !== null) this.group?.post({ t: 'actions', actions });
    this.setState(next);
    return next;
  }

  /** The one place the state changes: onState is called when it did. */
  private setState(next: ClientState): void {
    if (next === this.state) return;
    this.state = next;
    this.o.onState?.(next);
  }

  private setStatus(s: KitStatus): void {
    const prev = this.status;
    const offset = s.leader ? this.clock.offset(this.now()) : s.clockOffsetMs;
    const changed =
      prev.transport !== s.transport ||
      prev.phase !== s.phase ||
      prev.reason !== s.reason ||
      prev.leader !== s.leader ||
      prev.lastError !== s.lastError;
    this.status = { ...s, clockOffsetMs: offset, since: changed ? this.now() : prev.since };
    if (!changed) return;
    if (this.engine !== null) this.group?.post({ t: 'status', status: this.status });
    this.o.onStatus?.(this.status);
  }

  private onTabMessage(m: TabMessage): void {
    const leading = this.engine !== null;
    if (m.t === 'hello') {
      if (leading) this.group?.post({ t: 'state', state: this.state, status: this.status });
      return;
    }
    if (leading) return;
    if (m.t === 'state') {
      this.synced = true;
      this.setState(adoptState(m.state));
      this.setStatus({ ...m.status, leader: false });
    } else if (!this.synced) {
      this.hello();
    } else if (m.t === 'actions') {
      this.setState(reduce(this.state, m.actions));
    } else if (m.t === 'status') {
      this.setStatus({ ...m.status, leader: false });
    }
  }

  /** Asks the leader for its state (at most twice a second). */
  private hello(): void {
    const t = this.now();
    if (t - this.lastHello < 500) return;
    this.lastHello = t;
    this.group?.post({ t: 'hello' });
  }
}

function pageOrigin(): string | null {
  const loc = (globalThis as { location?: { origin?: string } }).location;
  return typeof loc?.origin === 'string' && loc.origin !== 'null' ? loc.origin : null;
}

function globalEventSource(): EventSourceConstructor | null {
  const ES = (globalThis as { EventSource?: EventSourceConstructor }).EventSource;
  return typeof ES === 'function' ? ES : null;
}

/** A random id, kept in localStorage when there is one (so the rollout bucket stays the same). */
function defaultClientId(): string {
  const storage = (globalThis as { localStorage?: Storage }).localStorage;
  try {
    const kept = storage?.getItem(CLIENT_ID_KEY);
    if (kept && /^[A-Za-z0-9._:-]{1,128}$/.test(kept)) return kept;
  } catch {
    // storage blocked (privacy mode): a per-page id still works
  }
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  const id =
    typeof c?.randomUUID === 'function'
      ? c.randomUUID()
      : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;
  try {
    storage?.setItem(CLIENT_ID_KEY, id);
  } catch {
    // same as above
  }
  return id;
}

/** Runs `fn` when the page is hidden for good (pagehide); returns the unsubscribe. */
function onPageExit(fn: () => void): () => void {
  const w = globalThis as { addEventListener?: (t: string, f: () => void) => void; document?: unknown };
  if (typeof w.addEventListener !== 'function' || w.document === undefined) return () => {};
  w.addEventListener('pagehide', fn);
  return () => (globalThis as unknown as Window).removeEventListener('pagehide', fn);
}
