import type { ErrorCode } from '../errors.ts';

/** What the expiry watch needs of an open stream (an SSE subscriber is one). */
export interface ExpiringStream {
  readonly res: { once(event: 'close', listener: () => void): unknown };
  /** Ends the stream with an `error` event carrying `code`. */
  fail(code: ErrorCode, message: string): void;
}

/**
 * Ends long-lived streams when their access token expires, with one timer for all of them (never
 * one per client). Streams are bucketed by expiry second; a min-heap of the bucket seconds lets
 * each sweep visit only the buckets that are due. The timer runs only while something is watched
 * (and is unref'd), so the watch needs no start/stop wiring.
 */
export class ExpiryWatch<T> {
  private readonly buckets = new Map<number, Set<T>>();
  /** The seconds of `buckets`, as a binary min-heap (one entry per bucket). */
  private readonly heap: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private count = 0;

  constructor(
    private readonly now: () => number,
    /** Called once for each watched item whose expiry has passed (after it was removed). */
    private readonly onExpire: (item: T) => void,
    private readonly tickMs = 1000,
  ) {}

  /** Items currently watched. */
  get size(): number {
    return this.count;
  }

  /**
   * Watches `item` until `expiresAtMs`. Returns the function that stops watching it (call it when
   * the stream closes for any other reason, so nothing is retained past its life).
   */
  add(item: T, expiresAtMs: number): () => void {
    const second = Math.ceil(expiresAtMs / 1000);
    let bucket = this.buckets.get(second);
    if (!bucket) {
      bucket = new Set();
      this.buckets.set(second, bucket);
      this.push(second);
    }
    bucket.add(item);
    this.count++;
    this.timer ??= this.startTimer();
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      // An emptied bucket stays until its second is swept, so the heap never holds duplicates
      // however often clients with the same token reconnect.
      if (this.buckets.get(second)?.delete(item)) {
        this.count--;
        if (this.count === 0) this.close();
      }
    };
  }

  /** Expires everything due now; returns how many items expired. Called by the timer (and tests). */
  sweep(): number {
    const nowSecond = this.now() / 1000;
    let expired = 0;
    while (this.heap.length > 0 && this.heap[0]! <= nowSecond) {
      const second = this.pop();
      const bucket = this.buckets.get(second);
      if (!bucket) continue;
      this.buckets.delete(second);
      this.count -= bucket.size;
      for (const item of bucket) {
        expired++;
        this.onExpire(item);
      }
    }
    if (this.count === 0) this.close();
    return expired;
  }

  /** Stops the timer and forgets every item (without expiring them). */
  close(): void {
    this.stopTimer();
    this.buckets.clear();
    this.heap.length = 0;
    this.count = 0;
  }

  private startTimer(): NodeJS.Timeout {
    const t = setInterval(() => this.sweep(), this.tickMs);
    t.unref();
    return t;
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private push(v: number): void {
    const h = this.heap;
    h.push(v);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]! <= v) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = v;
  }

  private pop(): number {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r]! < h[l]! ? r : l;
        if (h[c]! >= last) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
