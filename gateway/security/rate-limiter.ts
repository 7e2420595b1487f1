import { isIPv6 } from 'node:net';
import { LRUCache } from 'lru-cache';
import { TokenBucket, type TokenRate } from '../util/token-bucket.ts';

export interface RateLimitOptions {
  /** Tokens added per second (the sustained request rate allowed). */
  perSecond: number;
  /** Bucket size: how many requests may arrive at once after a quiet spell. */
  burst: number;
  /** Most clients remembered; the least recently seen is forgotten first (bounded memory). */
  maxClients: number;
  now?: () => number;
}

/**
 * A token bucket per client key, kept in an LRU so memory stays bounded whatever the number of
 * addresses. A forgotten client starts again with a full bucket, which only ever errs towards
 * letting a request through. Pure apart from the injected clock.
 */
export class RateLimiter {
  private readonly buckets: LRUCache<string, TokenBucket>;
  /** Shared by every client's bucket: a bucket holds only its tokens and last refill time. */
  private readonly rate: TokenRate;

  constructor(opts: RateLimitOptions) {
    this.rate = { perSecond: opts.perSecond, burst: opts.burst, now: opts.now ?? Date.now };
    this.buckets = new LRUCache({ max: opts.maxClients });
  }

  /** Clients currently remembered. */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key`: 0 when the request may proceed, else ms until it could. */
  take(key: string): number {
    let b = this.buckets.get(key);
    if (!b) {
      b = new TokenBucket(this.rate);
      this.buckets.set(key, b);
    }
    return b.tryTake() ? 0 : b.msUntil();
  }
}

/**
 * The key a client is limited under: its IPv4 address (IPv4-mapped IPv6 unwrapped), or the /64
 * prefix of its IPv6 address, since one subscriber usually holds a whole /64 and could
 * otherwise rotate through 2^64 fresh buckets.
 */
export function clientKey(ip: string): string {
  const bare = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  if (!isIPv6(bare)) return bare;
  const prefix = expandIPv6(bare)
    .slice(0, 4)
    .map((x) => (Number.parseInt(x, 16) || 0).toString(16));
  return `${prefix.join(':')}::/64`;
}

/** Eight hextets of an IPv6 address (zone id dropped, `::` expanded, embedded IPv4 kept short). */
function expandIPv6(ip: string): string[] {
  const addr = ip.split('%')[0]!;
  const [head, tail] = addr.includes('::') ? (addr.split('::') as [string, string]) : [addr, undefined];
  const h = head === '' ? [] : head.split(':');
  if (tail === undefined) return h;
  const t = tail === '' ? [] : tail.split(':');
  return [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
}
