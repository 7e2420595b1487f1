/**
 * A fixed-size, log-linear latency histogram in the spirit of HdrHistogram: exact below 128,
 * then 64 linear sub-buckets per power of two (under 1.6% relative error), up to 2^26 units.
 * Recording is one index computation and one increment; histograms merge by adding counts, so
 * each load-generator process keeps its own and the controller adds them up.
 */

const SUB = 64;
const LINEAR = 2 * SUB;
const MAX_EXP = 26;
/** Number of buckets: 128 exact + 64 per power of two in [2^7, 2^26). */
export const BUCKETS = LINEAR + (MAX_EXP - 7) * SUB;
const MAX_VALUE = 2 ** MAX_EXP - 1;

/** Bucket index of a non-negative integer value (clamped to the range). */
export function bucketOf(value: number): number {
  let v = value < 0 ? 0 : value > MAX_VALUE ? MAX_VALUE : Math.floor(value);
  if (v < LINEAR) return v;
  let shift = 0;
  while (v >= LINEAR) {
    v >>>= 1;
    shift++;
  }
  // v is now in [64, 128): the top 7 bits; shift says how many low bits were dropped.
  return LINEAR + (shift - 1) * SUB + (v - SUB);
}

/** Lowest value that falls in bucket `i`. */
export function bucketLow(i: number): number {
  if (i < LINEAR) return i;
  const shift = Math.floor((i - LINEAR) / SUB) + 1;
  return (SUB + ((i - LINEAR) % SUB)) * 2 ** shift;
}

/** Highest value that falls in bucket `i`. */
export function bucketHigh(i: number): number {
  if (i < LINEAR) return i;
  const shift = Math.floor((i - LINEAR) / SUB) + 1;
  return bucketLow(i) + 2 ** shift - 1;
}

export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  total = 0;
  max = 0;

  record(value: number): void {
    this.counts[bucketOf(value)]!++;
    this.total++;
    if (value > this.max) this.max = value;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
    this.max = 0;
  }

  /** Sparse form for IPC: [bucket, count, bucket, count, ...] plus the exact max. */
  toSparse(): { pairs: number[]; max: number } {
    const pairs: number[] = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) pairs.push(i, this.counts[i]!);
    return { pairs, max: this.max };
  }

  addSparse(s: { pairs: readonly number[]; max: number }): void {
    for (let j = 0; j + 1 < s.pairs.length; j += 2) {
      this.counts[s.pairs[j]!]! += s.pairs[j + 1]!;
      this.total += s.pairs[j + 1]!;
    }
    if (s.max > this.max) this.max = s.max;
  }

  /**
   * The value at quantile q (0..1): the upper bound of the bucket holding that rank, so a
   * reported p99 is never below the true one. NaN when empty.
   */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketHigh(i), this.max);
    }
    return this.max;
  }

  mean(): number {
    if (this.total === 0) return Number.NaN;
    let sum = 0;
    for (let i = 0; i < BUCKETS; i++)
      if (this.counts[i]! > 0) sum += this.counts[i]! * ((bucketLow(i) + bucketHigh(i)) / 2);
    return sum / this.total;
  }
}
