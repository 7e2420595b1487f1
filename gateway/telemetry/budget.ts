import { LRUCache } from 'lru-cache';
import { TokenBucket, type TokenRate } from '../util/token-bucket.ts';

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

/**
 * Token buckets bounding how many telemetry samples an address, and the instance as a whole,
 * may add per second: one client (or a flood of forged reports) can only move the latency
 * histograms at a bounded rate. Memory is bounded by `maxKeys`. Pure apart from the clock.
 */
export class SampleBudget {
  private readonly keys: LRUCache<string, TokenBucket>;
  private readonly global: TokenBucket;
  private readonly perKey: TokenRate;

  constructor(opts: SampleBudgetOptions) {
    const now = opts.now ?? Date.now;
    this.keys = new LRUCache({ max: opts.maxKeys ?? 10_000 });
    this.perKey = { perSecond: opts.perKeyRate, burst: opts.perKeyBurst, now };
    this.global = new TokenBucket({ perSecond: opts.globalRate, burst: opts.globalBurst, now });
  }

  /** How many of `wanted` samples from `key` may be taken now (0..wanted); takes them. */
  take(key: string, wanted: number): number {
    let b = this.keys.get(key);
    if (!b) {
      b = new TokenBucket(this.perKey);
      this.keys.set(key, b);
    }
    // Both buckets hold at least `granted` whole tokens, so both takes succeed.
    const granted = Math.max(
      0,
      Math.min(wanted, Math.floor(b.available()), Math.floor(this.global.available())),
    );
    b.tryTake(granted);
    this.global.tryTake(granted);
    return granted;
  }
}
