import type { Selection } from '../cache/selection.ts';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import type { StreamState } from '../cache/stream-state.ts';
import type { AppliedUpdate, PositionAdvance } from '../cache/types.ts';
import { encodeComment, encodeRetry } from '../protocol/encoder.ts';
import { gatewayErrorEvent, updateEvent } from '../protocol/events.ts';
import { jitteredRetryMs } from '../util/backoff.ts';
import { SharedChunk } from './shared-chunk.ts';
import type { FramedEvent, Subscriber } from './subscriber.ts';

/**
 * Subscribers sharing one Selection, and the position last announced to them.
 *
 * Invariant (what makes a join gap-free by construction): `lastPos` is the selection's position
 * at queue index `from` of the pending batch, and every subscriber of the group has seen every
 * update before its own queue index and none after it. A flush frames the batch from `from` on;
 * members get all of it, each joiner only the suffix from the index it joined at.
 */
interface Group {
  readonly selection: Selection;
  readonly members: Set<Subscriber>;
  /**
   * Per stream of the selection, its position at queue index `from` (moved by updates and by
   * PositionAdvances alike): what the next event id carries, never behind a snapshot rendered
   * since, so ids within a group never move backwards.
   */
  readonly lastPos: string[];
  /** Queue index `lastPos` is at (non-zero only for a group made while a batch is pending). */
  from: number;
  /** Joined while a batch is pending: their initial write already holds the batch up to `at`. */
  joining: Array<{ sub: Subscriber; at: number }>;
}

/** Runs the flush of a batch later: `setImmediate` in production, a manual queue in tests. */
export type FlushScheduler = (flush: () => void) => void;

export interface HubOptions {
  /** Period of the heartbeat comments; the same tick trims the cache's history by age. */
  heartbeatMs: number;
  /** Hooks for metrics; all optional. */
  onDelivered?: (update: AppliedUpdate, clients: number, now: number) => void;
  now?: () => number;
  /** Base of the retry: hint when streams are ended for replaced data (RETRY_MS). */
  retryMs?: number;
  random?: () => number;
  /**
   * When the batch of updates applied so far is written out. Default `setImmediate`: one tick of
   * batching, so everything applied from one Kafka fetch goes out in one write per client.
   */
  schedule?: FlushScheduler;
}

const HEARTBEAT = new SharedChunk(encodeComment(''));

/**
 * Fan-out of applied updates to SSE subscribers. Updates applied in one tick are sent together:
 * each event is framed once per Selection (same bytes for every client of it), and each client
 * gets the whole batch in one write. Heartbeats come from one timer for all clients.
 */
export class SseHub {
  private readonly groups = new Map<string, Group>();
  /** Updates and position advances since the last flush, in apply order. */
  private queued: Array<AppliedUpdate | PositionAdvance> = [];
  private flushScheduled = false;
  private readonly schedule: FlushScheduler;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeAdvanced: () => void;
  private readonly unsubscribeReady: () => void;
  private readonly unsubscribeReplaced: () => void;
  private count = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly cache: SnapshotCache,
    private readonly opts: HubOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.schedule = opts.schedule ?? setImmediate;
    this.unsubscribe = cache.onUpdates((u) => this.enqueue(u));
    this.unsubscribeAdvanced = cache.onAdvanced((a) => this.enqueue([a]));
    // Streams held open before readiness wait in waitUntil(); readiness may come with no update.
    this.unsubscribeReady = cache.onReady(() => {
      for (const w of this.waiters) w();
    });
    // A stream's data replaced (new lineage): what is queued goes out under the old ids first,
    // then the streams that showed the old data end with a retry:; they come back with an id of
    // the old lineage and get a resync snapshot (reason `lineage`) once the new data is read.
    this.unsubscribeReplaced = cache.onReplaced({
      before: () => this.flush(),
      after: (stream) => this.endShowing(stream),
    });
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Open streams on this hub. */
  get size(): number {
    return this.count;
  }

  /**
   * Adds a client whose initial write reflects the cache as it is now. Call it in the same
   * synchronous step as rendering that write: the client joins at the current end of the pending
   * batch and receives exactly the updates applied after it, whatever applies, flushes or
   * readiness come between now and the flush.
   */
  join(sub: Subscriber): void {
    this.count++;
    const at = this.queued.length;
    const g = this.groupFor(sub.selection);
    if (at === 0) g.members.add(sub);
    else g.joining.push({ sub, at });
  }

  /** Removes a client (called from its close hook; idempotent). */
  leave(sub: Subscriber): void {
    const g = this.groups.get(sub.selection.key);
    if (!g) return;
    if (g.members.delete(sub)) this.count--;
    else {
      const i = g.joining.findIndex((j) => j.sub === sub);
      if (i >= 0) {
        g.joining.splice(i, 1);
        this.count--;
      }
    }
    if (g.members.size === 0 && g.joining.length === 0) this.groups.delete(g.selection.key);
  }

  /** Every open subscriber (for shutdown drains and control events). */
  *subscribers(): IterableIterator<Subscriber> {
    for (const g of this.groups.values()) {
      yield* g.members;
      for (const j of g.joining) yield j.sub;
    }
  }

  /**
   * Resolves at the next flush (or readiness) after which `done()` is true, or after `timeoutMs`;
   * returns done().
   */
  waitUntil(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => {
        if (!done()) return;
        cleanup();
        resolve(true);
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(done());
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Sends the same event, framed once (protocol/events.ts), to every client (e.g. a status change). */
  broadcast(framed: string): void {
    const chunk = new SharedChunk(framed);
    for (const sub of this.subscribers()) sub.sendIfIdle(chunk);
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.unsubscribe();
    this.unsubscribeAdvanced();
    this.unsubscribeReady();
    this.unsubscribeReplaced();
  }

  /** A retry hint spread over [0.5, 1.5) x base, so reconnects after a blip do not synchronise. */
  static jitteredRetry(baseMs: number, random: () => number = Math.random): string {
    return encodeRetry(jitteredRetryMs(baseMs, random));
  }

  /** The group of a selection; a new one starts at the current position, i.e. the end of the batch. */
  private groupFor(selection: Selection): Group {
    let g = this.groups.get(selection.key);
    if (!g) {
      g = {
        selection,
        members: new Set(),
        lastPos: selection.streams.map((s) => s.position),
        from: this.queued.length,
        joining: [],
      };
      this.groups.set(selection.key, g);
    }
    return g;
  }

  private enqueue(updates: ReadonlyArray<AppliedUpdate | PositionAdvance>): void {
    for (const u of updates) this.queued.push(u);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    this.schedule(() => this.flush());
  }

  private flush(): void {
    const updates = this.queued;
    this.queued = [];
    this.flushScheduled = false;
    const now = this.now();
    for (const g of this.groups.values()) {
      this.flushGroup(g, updates, now);
      g.from = 0;
      const joining = g.joining;
      g.joining = [];
      for (const j of joining) if (j.sub.isOpen) g.members.add(j.sub);
    }
    for (const w of this.waiters) w();
  }

  private flushGroup(g: Group, updates: ReadonlyArray<AppliedUpdate | PositionAdvance>, now: number): void {
    const { selection, lastPos, members, joining } = g;
    const events: FramedEvent[] = [];
    /** Queue index of each event, for the joiners' suffixes. */
    const at: number[] = [];
    let chunk = '';
    const prefix = selection.idPrefix;
    for (let k = g.from; k < updates.length; k++) {
      const u = updates[k]!;
      const i = selection.streams.indexOf(u.stream);
      if (i < 0) continue;
      lastPos[i] = u.streamPos;
      if (u.op === 'advance') continue;
      const text = updateEvent(`${prefix}:${lastPos.join('_')}`, u.data);
      events.push({ conflationKey: u.stream.mode === 'table' ? `${u.stream.name}\0${u.key}` : null, text });
      at.push(k);
      chunk += text;
      let clients = members.size;
      for (const j of joining) if (j.at <= k) clients++;
      this.opts.onDelivered?.(u, clients, now);
    }
    if (events.length === 0) return;
    // Encoded (and chunk-framed) once, the same Buffer for every member.
    const shared = new SharedChunk(chunk);
    for (const sub of members) sub.send(shared, events);
    // Joiners (rare: a connect while a batch is pending) get the events after their index.
    for (const { sub, at: from } of joining) {
      const first = at.findIndex((k) => k >= from);
      if (first < 0) continue;
      if (first === 0) sub.send(shared, events);
      else {
        const tail = events.slice(first);
        sub.send(new SharedChunk(tail.map((e) => e.text).join('')), tail);
      }
    }
  }

  private endShowing(stream: StreamState): void {
    const random = this.opts.random ?? Math.random;
    const event = gatewayErrorEvent({
      code: 'DATA_REPLACED',
      message: `the data of stream ${stream.name} was replaced; reconnect for a resync`,
      reconnect: true,
    });
    for (const g of [...this.groups.values()]) {
      if (!g.selection.includes(stream)) continue;
      for (const sub of [...g.members, ...g.joining.map((j) => j.sub)])
        sub.end(SseHub.jitteredRetry(this.opts.retryMs ?? 3000, random) + event);
    }
  }

  private beat(): void {
    for (const g of this.groups.values()) for (const sub of g.members) sub.sendIfIdle(HEARTBEAT);
    // Updates past HISTORY_SECONDS go even when none arrive to push them out (memory goes back down).
    this.cache.history.trim();
  }
}
