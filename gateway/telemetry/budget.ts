import { LRUCache } from 'lru-cache';

export interface SampleBudgetOptions {
  /** Samples per second one address may add, and how many it may add in one burst. */
  perKeyRate: number;
  perKeyBurst: number;
  /** Samples per second the whole instance accepts, and its burst. */
  globalRate: number;
  globalBurst: number;
  /** Addresses tracked at once (least recently seen are forgotten: they start with a full bucket). */
  maxKeys?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets bounding how many telemetry samples an address, and the instance as a whole,
 * may add per second: one client (or a flood of forged reports) can only move the latency
 * histograms at a bounded rate. Memory is bounded by `maxKeys`. Pure apart from the clock.
 */
export class SampleBudget {
  private readonly keys: LRUCache<string, Bucket>;
  private readonly global: Bucket;
  private readonly now: () => number;

  constructor(private readonly opts: SampleBudgetOptions) {
    this.now = opts.now ?? Date.now;
    this.keys = new LRUCache({ max: opts.maxKeys ?? 10_000 });
    this.global = { tokens: opts.globalBurst, at: this.now() };
  }

  /** How many of `wanted` samples from `key` may be taken now (0..wanted); takes them. */
  take(key: string, wanted: number): number {
    const t = this.now();
    let b = this.keys.get(key);
    if (!b) {
      b = { tokens: this.opts.perKeyBurst, at: t };
      this.keys.set(key, b);
    }
    refill(b, t, this.opts.perKeyRate, this.opts.perKeyBurst);
    refill(this.global, t, this.opts.globalRate, this.opts.globalBurst);
    const granted = Math.max(0, Math.min(wanted, Math.floor(b.tokens), Math.floor(this.global.tokens)));
    b.tokens -= granted;
    this.global.tokens -= granted;
    return granted;
  }
}

function refill(b: Bucket, t: number, rate: number, burst: number): void {
  if (t > b.at) b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * rate);
  b.at = t;
}
