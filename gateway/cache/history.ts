import type { AppliedUpdate } from './types.ts';

export interface HistoryLimits {
  /** Updates always kept, however old (HISTORY_SIZE). */
  records: number;
  /** Updates applied within this many ms are kept too, beyond `records` (HISTORY_SECONDS). 0: off. */
  maxAgeMs: number;
  /** Never more than this many, whatever their age (HISTORY_MAX_RECORDS): the memory bound. */
  maxRecords: number;
}

/**
 * The most recent applied updates, shared by all streams: what makes resume with Last-Event-ID
 * cheap (no per-client replay from a slow store). It keeps the newest `records` updates, and
 * beyond them every update applied in the last `maxAgeMs` (up to `maxRecords`): a bootstrap
 * replaying a large table at start-up applies many records in a few seconds, and a count-only
 * window would evict the very updates a client that was connected to a restarted instance a few
 * seconds ago needs to resume here. When an update falls out, its stream's replay floor for that
 * partition rises past it, so a cursor below the floor is known to be too old (answered with a
 * resync, never a silent gap).
 */
export class History {
  /** Oldest first, from `start`; compacted when the dead prefix is half the array. */
  private items: AppliedUpdate[] = [];
  private start = 0;
  readonly limits: HistoryLimits;

  constructor(
    limits: number | HistoryLimits,
    private readonly now: () => number = Date.now,
  ) {
    this.limits = typeof limits === 'number' ? { records: limits, maxAgeMs: 0, maxRecords: limits } : limits;
  }

  /** The count kept whatever the age (HISTORY_SIZE). */
  get capacity(): number {
    return this.limits.records;
  }

  get size(): number {
    return this.items.length - this.start;
  }

  push(u: AppliedUpdate): void {
    if (this.limits.maxRecords === 0) {
      u.stream.raiseFloor(u.partition, u.offset + 1);
      return;
    }
    this.items.push(u);
    this.trim();
  }

  /**
   * Drops the oldest updates beyond the `records` always kept that are past the time window (or
   * beyond `maxRecords`), raising their streams' floors; returns how many. `push` calls it, and
   * so does a periodic tick (the hub's heartbeat), so the history shrinks back by time even when
   * no update arrives.
   */
  trim(): number {
    const { records, maxRecords, maxAgeMs } = this.limits;
    let size = this.size;
    if (size <= records) return 0;
    const oldestKept = this.now() - maxAgeMs;
    let dropped = 0;
    while (size > records) {
      const oldest = this.items[this.start]!;
      if (size <= maxRecords && maxAgeMs > 0 && oldest.appliedAt >= oldestKept) break;
      oldest.stream.raiseFloor(oldest.partition, oldest.offset + 1);
      this.items[this.start] = undefined as unknown as AppliedUpdate;
      this.start++;
      size--;
      dropped++;
    }
    if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
    return dropped;
  }

  /** Forgets every update of a stream whose data was replaced (their offsets mean nothing now). */
  dropStream(stream: AppliedUpdate['stream']): void {
    this.items = this.items.slice(this.start).filter((u) => u.stream !== stream);
    this.start = 0;
  }

  /** Updates in apply order for which `want` is true. */
  select(want: (u: AppliedUpdate) => boolean): AppliedUpdate[] {
    const out: AppliedUpdate[] = [];
    for (let i = this.start; i < this.items.length; i++) {
      const u = this.items[i]!;
      if (want(u)) out.push(u);
    }
    return out;
  }
}
