import type { Selection } from '../cache/selection.ts';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import type { AppliedUpdate } from '../cache/types.ts';
import { encodeComment, encodeJsonEvent, encodeRetry } from './encoder.ts';
import { SharedChunk } from './shared-chunk.ts';
import type { FramedEvent, Subscriber } from './subscriber.ts';

/** Subscribers sharing one Selection, and the position last announced to them. */
interface Group {
  readonly selection: Selection;
  readonly members: Set<Subscriber>;
  /** Per stream of the selection, the position string carried by the last event id. */
  readonly lastPos: string[];
}

export interface HubOptions {
  heartbeatMs: number;
  /** Hooks for metrics; all optional. */
  onDelivered?: (update: AppliedUpdate, clients: number, now: number) => void;
  now?: () => number;
}

const HEARTBEAT = new SharedChunk(encodeComment(''));

/**
 * Fan-out of applied updates to SSE subscribers. Updates applied in one tick are sent together:
 * each event is framed once per Selection (same bytes for every client of it), and each client
 * gets the whole batch in one write. Heartbeats come from one timer for all clients.
 */
export class SseHub {
  private readonly groups = new Map<string, Group>();
  private queued: AppliedUpdate[] = [];
  private flushScheduled = false;
  /** Clients whose snapshot already includes the queued updates: they join after the flush. */
  private joining: Subscriber[] = [];
  private readonly heartbeat: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeReady: () => void;
  private count = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly cache: SnapshotCache,
    private readonly opts: HubOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.unsubscribe = cache.onUpdates((u) => this.enqueue(u));
    // Streams held open before readiness wait in waitUntil(); readiness may come with no update.
    this.unsubscribeReady = cache.onReady(() => {
      for (const w of this.waiters) w();
    });
    this.heartbeat = setInterval(() => this.beat(), opts.heartbeatMs);
    this.heartbeat.unref();
  }

  /** Open streams on this hub. */
  get size(): number {
    return this.count;
  }

  /** Adds a client whose initial write reflects the cache as it is now. */
  join(sub: Subscriber): void {
    this.count++;
    if (this.flushScheduled) this.joining.push(sub);
    else this.groupFor(sub.selection).members.add(sub);
  }

  /** Removes a client (called from its close hook; idempotent). */
  leave(sub: Subscriber): void {
    const g = this.groups.get(sub.selection.key);
    if (g?.members.delete(sub)) this.count--;
    else {
      const i = this.joining.indexOf(sub);
      if (i >= 0) {
        this.joining.splice(i, 1);
        this.count--;
      }
    }
    if (g && g.members.size === 0) this.groups.delete(g.selection.key);
  }

  /** Every open subscriber (for shutdown drains and control events). */
  *subscribers(): IterableIterator<Subscriber> {
    for (const g of this.groups.values()) yield* g.members;
    yield* this.joining;
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

  /** Sends the same control event to every client (e.g. a transport switch). */
  broadcast(event: string, json: string): void {
    const chunk = new SharedChunk(encodeJsonEvent(event, undefined, json));
    for (const sub of this.subscribers()) sub.sendIfIdle(chunk);
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.unsubscribe();
    this.unsubscribeReady();
  }

  /** A retry hint spread over [0.5, 1.5) x base, so reconnects after a blip do not synchronise. */
  static jitteredRetry(baseMs: number, random: () => number = Math.random): string {
    return encodeRetry(Math.round(baseMs * (0.5 + random())));
  }

  private groupFor(selection: Selection): Group {
    let g = this.groups.get(selection.key);
    if (!g) {
      g = { selection, members: new Set(), lastPos: selection.streams.map((s) => s.position) };
      this.groups.set(selection.key, g);
    }
    return g;
  }

  private enqueue(updates: readonly AppliedUpdate[]): void {
    for (const u of updates) this.queued.push(u);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // One tick of batching: everything applied from one Kafka fetch goes out in one write.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    const updates = this.queued;
    this.queued = [];
    this.flushScheduled = false;
    const now = this.now();
    for (const g of this.groups.values()) this.flushGroup(g, updates, now);
    const joining = this.joining;
    this.joining = [];
    for (const sub of joining) if (sub.isOpen) this.groupFor(sub.selection).members.add(sub);
    for (const w of this.waiters) w();
  }

  private flushGroup(g: Group, updates: readonly AppliedUpdate[], now: number): void {
    const { selection, lastPos, members } = g;
    const events: FramedEvent[] = [];
    let chunk = '';
    for (const u of updates) {
      const i = selection.streams.indexOf(u.stream);
      if (i < 0) continue;
      lastPos[i] = u.streamPos;
      const text = encodeJsonEvent('update', `${selection.setHash}:${lastPos.join('_')}`, u.data);
      events.push({ conflationKey: u.stream.mode === 'table' ? `${u.stream.name}\0${u.key}` : null, text });
      chunk += text;
      this.opts.onDelivered?.(u, members.size, now);
    }
    if (events.length === 0) return;
    // Encoded (and chunk-framed) once, the same Buffer for every member.
    const shared = new SharedChunk(chunk);
    for (const sub of members) sub.send(shared, events);
  }

  private beat(): void {
    for (const g of this.groups.values()) for (const sub of g.members) sub.sendIfIdle(HEARTBEAT);
  }
}
