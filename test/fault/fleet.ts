/**
 * Lean streaming clients and pollers for the fault-injection tests: hundreds of SSE clients over
 * a few HTTP/2 connections to NGINX (as browsers multiplex their EventSources), each parsed with
 * eventsource-parser and behaving like EventSource (reconnect after the server's `retry:` with
 * Last-Event-ID; a non-200 answer stops it for good, as it stops a browser). Each client checks,
 * event by event, the numbered records of the producer
 * (producer.ts): the feed's `seq` must grow by exactly one and each counter key's `n` too, so a
 * skipped or repeated update is caught where it happens, with the client and the ids around it.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, connect } from 'node:http2';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { GroundTruth } from './producer.ts';

/** Streams the fleet subscribes to (names configured by scenario.ts). */
export const FEED = 'feed';
export const COUNTERS = 'counters';

/** Streams per HTTP/2 connection (NGINX allows 128 concurrent streams per connection). */
const STREAMS_PER_SESSION = 96;
/**
 * HTTP/2 flow-control windows of the test clients: wide, so a test process busy parsing for
 * hundreds of clients never throttles NGINX (which would make the gateway see slow readers).
 */
const H2_SETTINGS = { initialWindowSize: 4 * 1024 * 1024 };
const H2_SESSION_WINDOW = 32 * 1024 * 1024;

/** An HTTP/2 connection to the edge with wide windows; errors surface on its streams. */
export function h2connect(origin: string, ca: string): ClientHttp2Session {
  const s = connect(origin, { ca, settings: H2_SETTINGS });
  s.on('error', () => {});
  s.once('connect', () => s.setLocalWindowSize(H2_SESSION_WINDOW));
  return s;
}

export interface StreamClient {
  readonly id: number;
  lastEventId: string | null;
  /** Reconnection delay from the server's last `retry:` field. */
  retryMs: number;
  /** Feed: the last `seq` seen (null before the first snapshot). */
  lastSeq: number | null;
  readonly counters: Map<string, number>;
  /** Every violation of exactly-once, in-order delivery (and unexpected resyncs). */
  readonly anomalies: string[];
  snapshots: number;
  updates: number;
  /** 200 answers (stream opened). */
  connects: number;
  /**
   * Non-200 answers (or 200s that are not text/event-stream), by status. Fatal, as for a
   * browser's EventSource ("fail the connection"): the client stops for good and an anomaly is
   * recorded, so a server or edge answering a stream client 503/429 fails the test.
   */
  readonly refusals: Map<number, number>;
  /** The client stopped for good after a non-200 answer (an EventSource would be CLOSED). */
  gaveUp: boolean;
  /** Times (epoch ms) at which the client reconnected after losing a stream. */
  readonly reconnects: number[];
  /**
   * Times (epoch ms) at which it meant to: the moment it saw the stream end plus the delay it
   * was told (`retry:` or Retry-After). Unlike `reconnects`, free of this process's own timer
   * delays, which bunch timers together whenever the test process is busy.
   */
  readonly plannedReconnects: number[];
  /** Times (epoch ms) at which a stream it had open ended. */
  readonly drops: number[];
  readonly statuses: Array<{ stale: boolean; at: number }>;
  shutdowns: number;
  readonly errors: string[];
  open: boolean;
}

export interface FleetOptions {
  /** `https://localhost:<port>` of NGINX. */
  origin: string;
  /** CA certificate (PEM) to trust. */
  ca: string;
  clients: number;
  /** Streams to subscribe to, default `counters,feed`. */
  streams?: string;
}

/** A fleet of streaming clients. `start()` opens them; `close()` ends them all. */
export class Fleet {
  readonly clients: StreamClient[] = [];
  private readonly sessions: Array<ClientHttp2Session | null> = [];
  private readonly requests = new Set<ClientHttp2Stream>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private closing = false;
  private readonly path: string;

  constructor(private readonly opts: FleetOptions) {
    this.path = `/v1/stream?streams=${opts.streams ?? `${COUNTERS},${FEED}`}`;
    for (let id = 0; id < opts.clients; id++) this.clients.push(newClient(id));
  }

  /** Opens every client and resolves once each has received its first snapshot. */
  async start(timeoutMs = 60_000): Promise<void> {
    for (const c of this.clients) this.open(c);
    await waitFor(
      () => this.clients.every((c) => c.snapshots > 0),
      timeoutMs,
      () => `${this.clients.filter((c) => c.snapshots === 0).length} clients without a snapshot`,
    );
  }

  /** Resolves once every client holds the producer's ground truth (and is connected). */
  async waitForTruth(truth: () => GroundTruth, timeoutMs: number): Promise<void> {
    await waitFor(
      () => {
        const t = truth();
        return this.clients.every((c) => c.open && holdsTruth(c, t));
      },
      timeoutMs,
      () => {
        const t = truth();
        const behind = this.clients.filter((c) => !c.open || !holdsTruth(c, t));
        const c = behind[0];
        return `${behind.length} clients behind the producer (seq ${t.lastSeq}); e.g. client ${c?.id}: open=${c?.open} lastSeq=${c?.lastSeq} anomalies=${c?.anomalies.slice(0, 3).join('; ')}`;
      },
    );
  }

  /** Ends every stream and connection; idempotent. */
  close(): void {
    this.closing = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const r of this.requests) r.close();
    this.requests.clear();
    for (const s of this.sessions) s?.destroy();
    this.sessions.length = 0;
  }

  private session(c: StreamClient): ClientHttp2Session {
    const i = Math.floor(c.id / STREAMS_PER_SESSION);
    let s = this.sessions[i];
    if (!s || s.closed || s.destroyed) {
      // A dead or closing session is replaced on the next request.
      s = h2connect(this.opts.origin, this.opts.ca);
      this.sessions[i] = s;
    }
    return s;
  }

  private open(c: StreamClient): void {
    if (this.closing) return;
    const headers: Record<string, string> = { ':path': this.path, accept: 'text/event-stream' };
    if (c.lastEventId !== null) headers['last-event-id'] = c.lastEventId;
    let req: ClientHttp2Stream;
    try {
      req = this.session(c).request(headers);
    } catch {
      this.later(c, c.retryMs);
      return;
    }
    this.requests.add(req);
    req.setEncoding('utf8');
    let status = 0;
    const parser = createParser({
      onEvent: (ev) => onEvent(c, ev),
      onRetry: (ms) => {
        c.retryMs = ms;
      },
    });
    req.on('response', (h) => {
      status = Number(h[':status']);
      const type = String(h['content-type'] ?? '');
      if (status === 200 && type.startsWith('text/event-stream')) {
        c.connects++;
        c.open = true;
      } else {
        // WHATWG HTML "fail the connection": an EventSource never reconnects after this.
        c.refusals.set(status, (c.refusals.get(status) ?? 0) + 1);
        c.gaveUp = true;
        c.anomalies.push(`closed for good: answered ${status} ${type}`);
        status = -1;
      }
    });
    req.on('data', (chunk: string) => {
      if (status === 200) parser.feed(chunk);
    });
    req.on('error', () => {});
    req.on('close', () => {
      this.requests.delete(req);
      if (c.open) c.drops.push(Date.now());
      c.open = false;
      if (this.closing || c.gaveUp) return;
      // A network error (status 0) or the end of a 200 stream: reconnect after retry:.
      this.later(c, c.retryMs, true);
    });
  }

  private later(c: StreamClient, delayMs: number, reconnect = false): void {
    if (reconnect) c.plannedReconnects.push(Date.now() + delayMs);
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (reconnect) c.reconnects.push(Date.now());
      this.open(c);
    }, delayMs);
    this.timers.add(t);
  }
}

function newClient(id: number): StreamClient {
  return {
    id,
    lastEventId: null,
    retryMs: 1000,
    lastSeq: null,
    counters: new Map(),
    anomalies: [],
    snapshots: 0,
    updates: 0,
    connects: 0,
    refusals: new Map(),
    gaveUp: false,
    reconnects: [],
    plannedReconnects: [],
    drops: [],
    statuses: [],
    shutdowns: 0,
    errors: [],
    open: false,
  };
}

interface SnapshotData {
  streams: Record<
    string,
    {
      entries?: Record<string, { value: { n: number } }>;
      items?: Array<{ value: { seq: number } }>;
    }
  >;
}

/** What a stream client or a poller holds of the producer's state. */
interface HeldState {
  lastSeq: number | null;
  readonly counters: Map<string, number>;
}

/** Replaces `held` with a snapshot's: the feed's last seq (0 when empty) and the whole counters table. */
function applySnapshot(held: HeldState, snap: SnapshotData): void {
  const items = snap.streams[FEED]?.items;
  if (items) held.lastSeq = items.length > 0 ? items[items.length - 1]!.value.seq : 0;
  const entries = snap.streams[COUNTERS]?.entries;
  if (entries) {
    held.counters.clear();
    for (const [k, e] of Object.entries(entries)) held.counters.set(k, e.value.n);
  }
}

interface UpdateData {
  stream: string;
  op: string;
  key: string | null;
  value?: { seq?: number; n?: number };
}

const UPDATE_SHAPE =
  /^\{"stream":"([a-z0-9_]+)","op":"([a-z]+)","key":(null|"[^"]*")(?:,"value":\{"(seq|n)":(\d+))?/;

/**
 * Reads the fields the checks need from an update's data without a full JSON.parse (the test
 * process parses thousands of events a second next to the gateways it measures); falls back to
 * JSON.parse for any other shape.
 */
function readUpdate(data: string): UpdateData {
  const m = UPDATE_SHAPE.exec(data);
  if (!m) return JSON.parse(data) as UpdateData;
  const value = m[4] === undefined ? undefined : { [m[4]]: Number(m[5]) };
  return { stream: m[1]!, op: m[2]!, key: m[3] === 'null' ? null : m[3]!.slice(1, -1), value };
}

function onEvent(c: StreamClient, ev: EventSourceMessage): void {
  if (ev.id !== undefined) c.lastEventId = ev.id;
  switch (ev.event) {
    case 'snapshot': {
      c.snapshots++;
      if (c.snapshots > 1)
        c.anomalies.push(`resync snapshot after ${c.updates} updates: ${ev.data.slice(0, 80)}`);
      applySnapshot(c, JSON.parse(ev.data) as SnapshotData);
      return;
    }
    case 'update': {
      c.updates++;
      const u = readUpdate(ev.data);
      if (u.stream === FEED) {
        const seq = u.value?.seq ?? Number.NaN;
        const expected = (c.lastSeq ?? 0) + 1;
        if (seq !== expected) c.anomalies.push(`feed: expected seq ${expected}, got ${seq} (id ${ev.id})`);
        if (seq > (c.lastSeq ?? 0)) c.lastSeq = seq;
      } else if (u.stream === COUNTERS && u.key !== null) {
        const n = u.value?.n ?? Number.NaN;
        const expected = (c.counters.get(u.key) ?? 0) + 1;
        if (u.op !== 'upsert' || n !== expected)
          c.anomalies.push(`counters ${u.key}: expected n ${expected}, got ${u.op} ${n} (id ${ev.id})`);
        if (n > (c.counters.get(u.key) ?? 0)) c.counters.set(u.key, n);
      }
      return;
    }
    case 'status': {
      const s = JSON.parse(ev.data) as { stale: boolean };
      c.statuses.push({ stale: s.stale, at: Date.now() });
      return;
    }
    case 'shutdown':
      c.shutdowns++;
      return;
    case 'gateway-error':
      c.errors.push(ev.data);
      return;
  }
}

/** Whether a client's (or a poller's) state equals the producer's ground truth. */
export function holdsTruth(c: HeldState, t: GroundTruth): boolean {
  if (c.lastSeq !== t.lastSeq) return false;
  if (c.counters.size !== t.counters.size) return false;
  for (const [k, n] of t.counters) if (c.counters.get(k) !== n) return false;
  return true;
}

/** Polls `/v1/snapshot` through NGINX at an interval with If-None-Match, recording every answer. */
export class Poller {
  /** Answers by status (0: the request failed without an HTTP answer). */
  readonly statuses = new Map<number, number>();
  /** Answers that carried `X-Switchyard-Stale`. */
  staleAnswers = 0;
  lastSeq: number | null = null;
  readonly counters = new Map<string, number>();
  private etag: string | null = null;
  private session: ClientHttp2Session | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly opts: { origin: string; ca: string; intervalMs: number },
    private readonly path = `/v1/snapshot?streams=${COUNTERS},${FEED}`,
  ) {}

  start(): void {
    this.tick();
  }

  /** Stops polling after the request in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inFlight;
    this.session?.destroy();
  }

  /** Non-2xx/304 answers and failed requests, as `status x count` text (empty when none). */
  failures(): string {
    return [...this.statuses]
      .filter(([s]) => s !== 200 && s !== 304)
      .map(([s, n]) => `${s} x${n}`)
      .join(', ');
  }

  /** Resolves once a poll answered with state equal to the truth. */
  async waitForTruth(truth: () => GroundTruth, timeoutMs: number): Promise<void> {
    await waitFor(
      () => holdsTruth(this, truth()),
      timeoutMs,
      () => `poller at seq ${this.lastSeq}, producer at ${truth().lastSeq}`,
    );
  }

  private tick(): void {
    if (this.stopped) return;
    this.inFlight = this.pollOnce().finally(() => {
      this.inFlight = null;
      if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.opts.intervalMs);
    });
  }

  private pollOnce(): Promise<void> {
    if (!this.session || this.session.closed || this.session.destroyed) {
      this.session = h2connect(this.opts.origin, this.opts.ca);
    }
    const headers: Record<string, string> = { ':path': this.path };
    if (this.etag) headers['if-none-match'] = this.etag;
    return new Promise((resolve) => {
      let req: ClientHttp2Stream;
      try {
        req = this.session!.request(headers);
      } catch {
        this.count(0);
        resolve();
        return;
      }
      let status = 0;
      let body = '';
      req.setEncoding('utf8');
      req.setTimeout(10_000, () => req.close());
      req.on('response', (h) => {
        status = Number(h[':status']);
        if (h['x-switchyard-stale'] !== undefined) this.staleAnswers++;
        if (status === 200) this.etag = String(h.etag ?? '') || null;
      });
      req.on('data', (d: string) => {
        body += d;
      });
      req.on('error', () => {});
      req.on('close', () => {
        this.count(status);
        if (status === 200) this.read(body);
        resolve();
      });
      req.end();
    });
  }

  private count(status: number): void {
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
  }

  private read(body: string): void {
    try {
      applySnapshot(this, JSON.parse(body) as SnapshotData);
    } catch {
      this.count(-1);
    }
  }
}

/**
 * Resolves when `done()` turns true (checked every 50 ms), or rejects after `timeoutMs` with
 * `describe()`: a guard against a hung test that says what was still missing.
 */
export function waitFor(done: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const check = (): void => {
      if (done()) {
        resolve();
        return;
      }
      if (Date.now() > deadline) {
        reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
        return;
      }
      setTimeout(check, 50);
    };
    check();
  });
}

/** Peak number of timestamps falling in any `bucketMs` window aligned on `from`. */
export function peakPerBucket(times: readonly number[], from: number, bucketMs: number): number {
  const buckets = new Map<number, number>();
  for (const t of times) {
    const b = Math.floor((t - from) / bucketMs);
    buckets.set(b, (buckets.get(b) ?? 0) + 1);
  }
  let peak = 0;
  for (const n of buckets.values()) if (n > peak) peak = n;
  return peak;
}
