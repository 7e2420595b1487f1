import type { StreamConfig } from '../config/streams.ts';
import { feedItemJson, tableEntryJson, updateJson } from '../protocol/json.ts';
import type { HistoryWindow, PartitionPlan, RecordSink, SourceRecord } from '../source/types.ts';
import { History, type HistoryLimits } from './history.ts';
import { decodeRecord, type FormatDecoders, type RecordValidator } from './record-decoder.ts';
import { StreamState, type TableEntry } from './stream-state.ts';
import {
  type AppliedUpdate,
  type CacheObserver,
  NOOP_OBSERVER,
  type PositionAdvance,
  type UpdateOp,
} from './types.ts';

export interface SnapshotCacheOptions {
  streams: readonly StreamConfig[];
  /** HISTORY_SIZE alone (a count), or the count and time window (docs/configuration.md). */
  historySize: number | HistoryLimits;
  now?: () => number;
  observer?: CacheObserver;
  /** Per stream name, the schema its values must match (streams without one accept any JSON). */
  validators?: ReadonlyMap<string, RecordValidator>;
  /** Decoders of Schema Registry formats (streams whose `format`/`keyFormat` needs one). */
  formats?: FormatDecoders;
}

/** Receives every batch of applied updates, in apply order (the SSE hub). */
export type UpdateListener = (updates: readonly AppliedUpdate[]) => void;

/** Told of position changes that no update shows, in order with the updates (the SSE hub). */
export type AdvanceListener = (advance: PositionAdvance) => void;

/** Told when a stream's data is replaced (new lineage): before the state is dropped, and after. */
export interface ReplaceListener {
  before(stream: StreamState): void;
  after(stream: StreamState): void;
}

/**
 * The in-memory snapshot of every stream, fed by a record source, read by both transports.
 * Its position (next offset per partition) is its version. Pure apart from the listener call:
 * no timers and no I/O, time comes from the injected clock.
 */
export class SnapshotCache implements RecordSink {
  readonly streams: ReadonlyMap<string, StreamState>;
  private readonly byTopic = new Map<string, StreamState>();
  readonly history: History;
  private readonly now: () => number;
  private readonly observer: CacheObserver;
  private readonly validators: ReadonlyMap<string, RecordValidator>;
  private readonly formats: FormatDecoders | undefined;
  private readonly listeners = new Set<UpdateListener>();
  private readonly advanceListeners = new Set<AdvanceListener>();
  private seq = 0;
  private readonly readyListeners = new Set<() => void>();
  private readonly replaceListeners = new Set<ReplaceListener>();
  private announcedReady = false;

  constructor(opts: SnapshotCacheOptions) {
    this.now = opts.now ?? Date.now;
    this.observer = opts.observer ?? NOOP_OBSERVER;
    this.validators = opts.validators ?? new Map();
    this.formats = opts.formats;
    this.history = new History(opts.historySize, this.now);
    const streams = new Map<string, StreamState>();
    for (const cfg of [...opts.streams].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const s = new StreamState(cfg, this.now, (reason) => this.observer.evicted(cfg.name, reason));
      streams.set(cfg.name, s);
      this.byTopic.set(cfg.topic, s);
    }
    this.streams = streams;
  }

  /** Topics the source must read. */
  topics(): string[] {
    return [...this.byTopic.keys()];
  }

  /** Apply sequence: increases with every applied update (the process-local version). */
  get sequence(): number {
    return this.seq;
  }

  onUpdates(listener: UpdateListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Position changes that no update shows (see PositionAdvance), each told right after the
   * updates applied before it.
   */
  onAdvanced(listener: AdvanceListener): () => void {
    this.advanceListeners.add(listener);
    return () => this.advanceListeners.delete(listener);
  }

  /**
   * Called once, when isReady() first turns true. Readiness can arrive without any update (empty
   * topics, or a bootstrap whose last records were skipped), so waiters cannot rely on onUpdates.
   */
  onReady(listener: () => void): () => void {
    this.readyListeners.add(listener);
    return () => this.readyListeners.delete(listener);
  }

  onReplaced(listener: ReplaceListener): () => void {
    this.replaceListeners.add(listener);
    return () => this.replaceListeners.delete(listener);
  }

  /**
   * The identity of a topic's data. The first call names it; a different value later means the
   * data was replaced (topic re-created, demo restarted, another cluster): the stream's state and
   * its history are dropped, readiness waits for the source to plan and read it again, and
   * listeners (the hub) end the streams that showed the old data. Ids carry the lineage, so an
   * id of the old data gets a resync (`lineage`), never a replay of unrelated offsets.
   */
  lineage(topic: string, lineage: string): void {
    const s = this.byTopic.get(topic);
    if (!s || s.lineage === lineage) return;
    if (s.lineage === '') {
      s.lineage = lineage;
      s.lineageVersion++;
      return;
    }
    for (const l of this.replaceListeners) l.before(s);
    this.history.dropStream(s);
    s.replace(lineage);
    this.announcedReady = false;
    for (const l of this.replaceListeners) l.after(s);
  }

  plan(p: PartitionPlan): void {
    const s = this.byTopic.get(p.topic);
    if (!s) return;
    s.plan(p.partition, p.startOffset, p.highWatermark);
    this.announce(s);
    this.checkReady();
  }

  historyWindow(): HistoryWindow {
    return { maxAgeMs: this.history.limits.maxAgeMs, maxRecords: this.history.limits.maxRecords };
  }

  nextOffset(topic: string, partition: number): number | undefined {
    const s = this.byTopic.get(topic);
    return s?.hasPartition(partition) ? s.offsets[partition] : undefined;
  }

  /**
   * True once every stream has its partitions planned (a topic has at least one) and each
   * reached the high-water mark seen at start. A source plans topic by topic: until the last
   * one is planned, the cache is not ready even if the planned ones are caught up.
   */
  isReady(): boolean {
    for (const s of this.streams.values()) if (s.offsets.length === 0 || !s.isCaughtUp()) return false;
    return true;
  }

  private checkReady(): void {
    if (this.announcedReady || !this.isReady()) return;
    this.announcedReady = true;
    for (const l of this.readyListeners) l();
  }

  apply(topic: string, partition: number, records: readonly SourceRecord[], consumedTo?: number): void {
    const s = this.byTopic.get(topic);
    if (!s) return;
    if (!s.hasPartition(partition)) s.plan(partition, 0, 0);
    const applied: AppliedUpdate[] = [];
    const appliedAt = this.now();
    for (const rec of records) {
      // Replays after a reconnect or rebalance are dropped here: applying is idempotent by offset.
      if (rec.offset < s.offsets[partition]!) continue;
      const decoded = decodeRecord(s.config, rec, this.validators.get(s.name), this.formats);
      if (!decoded.ok) {
        this.observer.rejected(s.name, decoded.reason, rec, decoded.detail);
        s.advance(partition, rec.offset);
        continue;
      }
      const { key, valueJson, createdAt } = decoded.record;
      if (s.table) {
        if (valueJson === null) {
          const existed = s.table.delete(key!);
          s.advance(partition, rec.offset);
          if (existed)
            applied.push(this.record(s, 'delete', key, null, partition, rec.offset, createdAt, appliedAt));
          continue;
        }
        const json = tableEntryJson(valueJson, createdAt);
        s.table.set(key!, { key: key!, valueJson, createdAt, partition, offset: rec.offset, json });
        // Before advance(): an eviction's id must not claim the record that caused it, or a
        // client cut between the two events would resume past the upsert.
        this.flushEvictions(s, partition, rec.offset, appliedAt, applied);
        s.advance(partition, rec.offset);
        applied.push(this.record(s, 'upsert', key, valueJson, partition, rec.offset, createdAt, appliedAt));
      } else {
        const json = feedItemJson(key, valueJson!, createdAt);
        s.feed!.push({ key, valueJson: valueJson!, createdAt, partition, offset: rec.offset, json });
        s.advance(partition, rec.offset);
        applied.push(this.record(s, 'append', key, valueJson, partition, rec.offset, createdAt, appliedAt));
      }
    }
    // Transaction markers and aborted records are consumed but never delivered: the position
    // still moves past them, so a partition ending with a marker is caught up.
    if (consumedTo !== undefined && consumedTo > s.offsets[partition]!) s.advance(partition, consumedTo - 1);
    this.emit(applied);
    this.announce(s);
    this.checkReady();
  }

  /**
   * Drops table rows past their TTL. Each becomes a `delete` update tagged with its partition's
   * last applied offset. Expiry is clock-driven, not a record, so an event id cannot tell whether
   * a client saw it: the partition's replay floor rises past the current position, and a resume
   * from any id before the next record there gets a resync snapshot instead of a silent gap.
   */
  sweepExpired(): void {
    const applied: AppliedUpdate[] = [];
    const appliedAt = this.now();
    for (const s of this.streams.values()) {
      if (!s.table || s.config.ttlMs === 0) continue;
      s.table.purgeStale();
      for (const entry of s.pendingEvictions.splice(0)) {
        const offset = Math.max(s.offsets[entry.partition]! - 1, entry.offset);
        s.raiseFloor(entry.partition, s.offsets[entry.partition]! + 1);
        s.expirations++;
        s.touch();
        applied.push(
          this.record(s, 'delete', entry.key, null, entry.partition, offset, this.now(), appliedAt),
        );
      }
    }
    this.emit(applied);
  }

  private flushEvictions(
    s: StreamState,
    partition: number,
    offset: number,
    appliedAt: number,
    out: AppliedUpdate[],
  ): void {
    if (s.pendingEvictions.length === 0) return;
    for (const entry of s.pendingEvictions.splice(0) as TableEntry[])
      out.push(this.record(s, 'delete', entry.key, null, partition, offset, entry.createdAt, appliedAt));
  }

  private record(
    s: StreamState,
    op: UpdateOp,
    key: string | null,
    valueJson: string | null,
    partition: number,
    offset: number,
    createdAt: number,
    appliedAt: number,
  ): AppliedUpdate {
    this.observer.applied(s.name, createdAt, appliedAt);
    const u: AppliedUpdate = {
      seq: ++this.seq,
      stream: s,
      op,
      key,
      partition,
      offset,
      createdAt,
      appliedAt,
      data: updateJson(s.name, op, key, valueJson, createdAt, appliedAt),
      streamPos: s.position,
    };
    s.announced = u.streamPos;
    this.history.push(u);
    return u;
  }

  /** Tells the advance listeners when the stream's position moved past its last update. */
  private announce(s: StreamState): void {
    if (s.position === s.announced) return;
    s.announced = s.position;
    const advance: PositionAdvance = { op: 'advance', stream: s, streamPos: s.position };
    for (const l of this.advanceListeners) l(advance);
  }

  private emit(applied: AppliedUpdate[]): void {
    if (applied.length === 0) return;
    for (const l of this.listeners) l(applied);
  }
}
