import { isIPv6 } from 'node:net';
import { LRUCache } from 'lru-cache';

export interface RateLimitOptions {
  /** Tokens added per second (the sustained request rate allowed). */
  perSecond: number;
  /** Bucket size: how many requests may arrive at once after a quiet spell. */
  burst: number;
  /** Most clients remembered; the least recently seen is forgotten first (bounded memory). */
  maxClients: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * A token bucket per client key, kept in an LRU so memory stays bounded whatever the number of
 * addresses. A forgotten client starts again with a full bucket, which only ever errs towards
 * letting a request through. Pure apart from the injected clock.
 */
export class RateLimiter {
  private readonly buckets: LRUCache<string, Bucket>;
  private readonly now: () => number;

  constructor(private readonly opts: RateLimitOptions) {
    this.now = opts.now ?? Date.now;
    this.buckets = new LRUCache({ max: opts.maxClients });
  }

  /** Clients currently remembered. */
  get size(): number {
    return this.buckets.size;
  }

  /** Takes one token for `key`: 0 when the request may proceed, else ms until it could. */
  take(key: string): number {
    const now = this.now();
    const { perSecond, burst } = this.opts;
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: burst, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) * perSecond) / 1000);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - b.tokens) * 1000) / perSecond);
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
