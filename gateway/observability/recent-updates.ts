import type { AppliedUpdate } from '../cache/types.ts';

/**
 * The most recent applied updates of one stream, in apply order, as columns: partition,
 * offset, creation time, key and whether it was a delete. No payloads are kept, so a deep
 * ring costs ~30 bytes per update. Pure; index 0 is the oldest update retained.
 */
export class RecentUpdates {
  private readonly partitions: Int32Array;
  private readonly offsets: Float64Array;
  private readonly created: Float64Array;
  private readonly deletes: Uint8Array;
  private readonly keys: Array<string | null>;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.partitions = new Int32Array(capacity);
    this.offsets = new Float64Array(capacity);
    this.created = new Float64Array(capacity);
    this.deletes = new Uint8Array(capacity);
    this.keys = new Array<string | null>(capacity).fill(null);
  }

  get size(): number {
    return this.count;
  }

  push(u: AppliedUpdate): void {
    if (this.capacity === 0) return;
    const i = this.head;
    this.partitions[i] = u.partition;
    this.offsets[i] = u.offset;
    this.created[i] = u.createdAt;
    this.deletes[i] = u.op === 'delete' ? 1 : 0;
    this.keys[i] = u.key;
    this.head = (i + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  private slot(i: number): number {
    return (this.head - this.count + i + this.capacity) % this.capacity;
  }

  partitionAt(i: number): number {
    return this.partitions[this.slot(i)]!;
  }

  offsetAt(i: number): number {
    return this.offsets[this.slot(i)]!;
  }

  createdAt(i: number): number {
    return this.created[this.slot(i)]!;
  }

  keyAt(i: number): string | null {
    return this.keys[this.slot(i)]!;
  }

  isDelete(i: number): boolean {
    return this.deletes[this.slot(i)] === 1;
  }

  /**
   * Index of the first update at or beyond `cursor` (next offset per partition, as in event
   * ids): the updates a client at that position has not seen. Applied updates form a suffix
   * of the ring for a position this instance handed out, so this is a binary search. Returns
   * `size` when there is none; 0 when even the oldest retained one is new to the client.
   */
  firstAfter(cursor: readonly number[]): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.isAfter(mid, cursor)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** Whether update `i` is at or beyond `cursor`. */
  isAfter(i: number, cursor: readonly number[]): boolean {
    return this.offsetAt(i) >= (cursor[this.partitionAt(i)] ?? 0);
  }
}
