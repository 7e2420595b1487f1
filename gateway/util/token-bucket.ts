/**
 * How a family of token buckets refills. One object is shared by every bucket of the family
 * (a rate limiter keeps one bucket per client), so a bucket itself holds only its own state.
 */
export interface TokenRate {
  /** Tokens added per second: the sustained rate allowed. */
  readonly perSecond: number;
  /** Bucket size: how many tokens may be spent at once after a quiet spell. */
  readonly burst: number;
  /** Milliseconds on any monotonic-enough scale (`Date.now`, `performance.now`, a test's clock). */
  readonly now: () => number;
}

/**
 * A token bucket refilled continuously: pure apart from the injected clock, no timers. It starts
 * full, so it may be created long before its first use. A clock that steps backwards adds no
 * tokens (and takes none away).
 */
export class TokenBucket {
  private tokens: number;
  private at: number | null = null;

  constructor(private readonly rate: TokenRate) {
    this.tokens = rate.burst;
  }

  /** Tokens available now (fractional: refill is continuous). */
  available(): number {
    const now = this.rate.now();
    if (this.at !== null && now > this.at)
      this.tokens = Math.min(this.rate.burst, this.tokens + ((now - this.at) * this.rate.perSecond) / 1000);
    this.at = now;
    return this.tokens;
  }

  /** Takes `n` tokens if all of them are available now; says whether it did. */
  tryTake(n = 1): boolean {
    if (this.available() < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens are available (0 when they are now); takes nothing. */
  msUntil(n = 1): number {
    const missing = n - this.available();
    return missing <= 0 ? 0 : Math.ceil((missing * 1000) / this.rate.perSecond);
  }
}
