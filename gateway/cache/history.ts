import type { AppliedUpdate } from './types.ts';

/**
 * A fixed-size ring of the most recent applied updates, shared by all streams: what makes
 * resume with Last-Event-ID cheap (no per-client replay from a slow store). When an update
 * falls out, its stream's replay floor for that partition rises past it, so a cursor below the
 * floor is known to be too old (answered with a resync, never a silent gap).
 */
export class History {
  private readonly ring: Array<AppliedUpdate | undefined>;
  private head = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(u: AppliedUpdate): void {
    if (this.capacity === 0) {
      u.stream.raiseFloor(u.partition, u.offset + 1);
      return;
    }
    const evicted = this.ring[this.head];
    if (evicted !== undefined) evicted.stream.raiseFloor(evicted.partition, evicted.offset + 1);
    this.ring[this.head] = u;
    this.head = (this.head + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Updates in apply order for which `want` is true. */
  select(want: (u: AppliedUpdate) => boolean): AppliedUpdate[] {
    const out: AppliedUpdate[] = [];
    const start = (this.head - this.count + this.capacity) % Math.max(this.capacity, 1);
    for (let i = 0; i < this.count; i++) {
      const u = this.ring[(start + i) % this.capacity]!;
      if (want(u)) out.push(u);
    }
    return out;
  }
}
