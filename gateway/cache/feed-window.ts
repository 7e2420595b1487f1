import { FeedRing } from './feed-ring.ts';

/** What the window needs of an item: its order key. */
export interface FeedOrdered {
  readonly createdAt: number;
  readonly partition: number;
  readonly offset: number;
}

/**
 * The newest `capacity` items of a multi-partition feed, as a pure function of the position:
 * each partition keeps its own newest `capacity` items, and the window is the newest `capacity`
 * of their union ordered by (createdAt, partition, offset). Kafka has no order across
 * partitions, so keeping "the last N applied" would depend on how fetches interleaved, and two
 * instances at the same position (same event id, same ETag) could hold different items.
 * Iteration is oldest first; the merge is computed at most once per change.
 */
export class FeedWindow<T extends FeedOrdered> implements Iterable<T> {
  private readonly rings: FeedRing<T>[] = [];
  private merged: T[] | null = [];

  constructor(readonly capacity: number) {}

  /** Items in the window (at most `capacity`). */
  get size(): number {
    let n = 0;
    for (const r of this.rings) n += r.size;
    return Math.min(n, this.capacity);
  }

  /** Drops every item (the stream's data was replaced). */
  clear(): void {
    this.rings.length = 0;
    this.merged = [];
  }

  push(item: T): void {
    for (let p = this.rings.length; p <= item.partition; p++) this.rings.push(new FeedRing<T>(this.capacity));
    this.rings[item.partition]!.push(item);
    this.merged = null;
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.items()[Symbol.iterator]();
  }

  private items(): T[] {
    if (this.merged) return this.merged;
    const all: T[] = [];
    for (const r of this.rings) for (const item of r) all.push(item);
    if (this.rings.length > 1)
      all.sort((a, b) => a.createdAt - b.createdAt || a.partition - b.partition || a.offset - b.offset);
    this.merged = all.length > this.capacity ? all.slice(all.length - this.capacity) : all;
    return this.merged;
  }
}
