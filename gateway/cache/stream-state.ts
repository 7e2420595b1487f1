import { LRUCache } from 'lru-cache';
import type { StreamConfig } from '../config/streams.ts';
import { feedStreamJson, tableStreamJson } from '../protocol/json.ts';
import { streamPosition } from './event-id.ts';
import { FeedWindow } from './feed-window.ts';

/** A table row: the value kept as its JSON text, and the row's snapshot form, built once. */
export interface TableEntry {
  readonly key: string;
  readonly valueJson: string;
  readonly createdAt: number;
  readonly partition: number;
  readonly offset: number;
  /** `{"value":...,"createdAt":...}` */
  readonly json: string;
}

/** A feed item and its snapshot form `{"key":...,"value":...,"createdAt":...}`. */
export interface FeedItem {
  readonly key: string | null;
  readonly valueJson: string;
  readonly createdAt: number;
  readonly partition: number;
  readonly offset: number;
  readonly json: string;
}

/**
 * The state of one stream: its data (a bounded table or a bounded feed), its position (the next
 * offset per partition of its topic) and its replay floors. Pure: no I/O, no timers.
 */
export class StreamState {
  readonly name: string;
  readonly topic: string;
  readonly mode: 'table' | 'feed';
  /** Next offset to apply, per partition. */
  readonly offsets: number[] = [];
  /** Per partition, the lowest cursor from which history can replay without a gap. */
  readonly floors: number[] = [];
  /** Per partition, the high-water mark seen at start (readiness). */
  readonly targets: number[] = [];
  readonly table: LRUCache<string, TableEntry> | null;
  /** Newest maxItems, deterministic for a position across partitions (see FeedWindow). */
  readonly feed: FeedWindow<FeedItem> | null;
  /** Bumped on every change of data or position. */
  version = 0;
  /** Identity of the data (RecordSink.lineage); '' until the source names it. */
  lineage = '';
  /** Bumped on every change of `lineage`. */
  lineageVersion = 0;
  /** Rows dropped by TTL since start: data changes that the position cannot show (see Selection.etag). */
  expirations = 0;
  private pos = '';
  /** The position last told to listeners, by an update or a PositionAdvance (SnapshotCache). */
  announced = '';
  private rendered: { version: number; json: string } | null = null;
  /** Keys evicted for capacity during the current set(): turned into delete updates. */
  readonly pendingEvictions: TableEntry[] = [];

  constructor(
    readonly config: StreamConfig,
    now: () => number,
    onEvict: (reason: 'capacity' | 'expired', entry: TableEntry) => void,
  ) {
    this.name = config.name;
    this.topic = config.topic;
    this.mode = config.mode;
    if (config.mode === 'table') {
      this.table = new LRUCache<string, TableEntry>({
        max: config.maxKeys,
        // ttlResolution 0: read the injected clock on every check (the default caches it for
        // 1 ms of real time, so a sweep right after a clock step would miss expired rows).
        ...(config.ttlMs > 0
          ? { ttl: config.ttlMs, ttlAutopurge: false, updateAgeOnGet: false, ttlResolution: 0 }
          : {}),
        perf: { now },
        dispose: (entry, _key, reason) => {
          if (reason === 'evict') {
            this.pendingEvictions.push(entry);
            onEvict('capacity', entry);
          } else if (reason === 'expire') {
            this.pendingEvictions.push(entry);
            onEvict('expired', entry);
          }
        },
      });
      this.feed = null;
    } else {
      this.table = null;
      this.feed = new FeedWindow<FeedItem>(config.maxItems);
    }
  }

  get position(): string {
    return this.pos;
  }

  /** Registers a partition: where reading starts and where "caught up" is. */
  plan(partition: number, startOffset: number, highWatermark: number): void {
    for (let p = this.offsets.length; p <= partition; p++) {
      this.offsets.push(0);
      this.floors.push(0);
      this.targets.push(0);
    }
    if (this.offsets[partition] === 0 && startOffset > 0) {
      this.offsets[partition] = startOffset;
      this.floors[partition] = startOffset;
    }
    this.targets[partition] = Math.max(this.targets[partition]!, highWatermark);
    this.touch();
  }

  /**
   * The data was replaced (another lineage): drops rows or items, partitions, floors and targets.
   * The source plans the partitions again from their start.
   */
  replace(lineage: string): void {
    this.table?.clear();
    this.pendingEvictions.length = 0;
    this.feed?.clear();
    this.offsets.length = 0;
    this.floors.length = 0;
    this.targets.length = 0;
    this.lineage = lineage;
    this.lineageVersion++;
    this.touch();
  }

  hasPartition(partition: number): boolean {
    return partition < this.offsets.length;
  }

  advance(partition: number, offset: number): void {
    this.offsets[partition] = offset + 1;
    this.touch();
  }

  raiseFloor(partition: number, offset: number): void {
    if (offset > this.floors[partition]!) this.floors[partition] = offset;
  }

  touch(): void {
    this.version++;
    this.pos = streamPosition(this.offsets);
  }

  isCaughtUp(): boolean {
    for (let p = 0; p < this.offsets.length; p++) if (this.offsets[p]! < this.targets[p]!) return false;
    return true;
  }

  /** Number of rows (table) or items (feed). */
  get size(): number {
    return this.table ? this.table.size : this.feed!.size;
  }

  /**
   * The stream's snapshot JSON, rendered at most once per version. Built by concatenating the
   * rows' pre-serialised JSON, so keys such as `__proto__` are never assigned to an object.
   */
  render(): string {
    if (this.rendered?.version === this.version) return this.rendered.json;
    const json = this.table
      ? tableStreamJson(this.table.values())
      : feedStreamJson(this.config.maxItems, this.feed!);
    this.rendered = { version: this.version, json };
    return json;
  }
}
