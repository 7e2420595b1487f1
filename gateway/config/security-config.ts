import { isIP } from 'node:net';
import { z } from 'zod';

/** The hardening settings of one gateway (docs/security.md explains each and its default). */
export interface SecurityConfig {
  /**
   * Secrets that verify stream tokens: the current one first (it is also the one that mints),
   * then the previous one during a rotation. Empty: streams and snapshots are public.
   */
  readonly streamTokenSecrets: readonly string[];
  /** Exact origins allowed cross-origin (with credentials). Empty: no CORS headers at all. */
  readonly corsOrigins: readonly string[];
  /** Per-IP request rate on everything but streams, health and metrics; perSecond 0: off. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number; readonly maxClients: number };
  readonly maxUrlLength: number;
  readonly maxHeaderBytes: number;
  /** Where rejected Kafka records are copied (null: nowhere). */
  readonly dlqTopic: string | null;
  /** express `trust proxy`: false (the socket address is the client), a hop count, or proxy addresses. */
  readonly trustProxy: false | number | readonly string[];
}

const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:\d{1,5})?$|^https?:\/\/\[[0-9a-f:.]+\](:\d{1,5})?$/;

/**
 * CORS_ORIGINS: comma-separated exact origins (`https://app.example.com`, scheme + host + port).
 * `*` and `null` are refused: with credentials a wildcard is forbidden by the Fetch spec, and
 * `null` is the origin of sandboxed frames and local files, i.e. of anyone.
 */
export const corsOriginsSchema = z
  .string()
  .max(8192)
  .transform((raw, ctx) => {
    const list = raw
      .split(',')
      .map((o) => o.trim().toLowerCase().replace(/\/$/, ''))
      .filter(Boolean);
    for (const o of list)
      if (!ORIGIN.test(o))
        ctx.addIssue({
          code: 'custom',
          message: `"${o.slice(0, 80)}" is not an origin like https://app.example.com (no *, no null, no path)`,
        });
    return [...new Set(list)];
  });

const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isProxyAddress(item: string): boolean {
  if (NAMED_RANGES.has(item)) return true;
  const [ip, bits, extra] = item.split('/');
  if (extra !== undefined || ip === undefined || isIP(ip) === 0) return false;
  if (bits === undefined) return true;
  const max = isIP(ip) === 4 ? 32 : 128;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= max;
}

/**
 * TRUST_PROXY: a number of proxy hops to trust, or comma-separated addresses / CIDRs / the names
 * `loopback`, `linklocal`, `uniquelocal`. Only then is X-Forwarded-For believed for the client
 * address (per-IP limits behind NGINX); otherwise a client could forge its address.
 */
export const trustProxySchema = z
  .string()
  .max(4096)
  .transform((raw, ctx): number | string[] => {
    const text = raw.trim();
    if (/^\d{1,2}$/.test(text)) return Number(text);
    const list = text
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    for (const item of list)
      if (!isProxyAddress(item))
        ctx.addIssue({
          code: 'custom',
          message: `"${item.slice(0, 80)}" is not a hop count, an address, a CIDR or loopback/linklocal/uniquelocal`,
        });
    return list;
  });

/** The env keys (as validated by envSchema) this module reads. */
export interface SecurityEnv {
  STREAM_TOKEN_SECRET?: string | undefined;
  STREAM_TOKEN_SECRET_PREVIOUS?: string | undefined;
  CORS_ORIGINS?: readonly string[] | undefined;
  RATE_LIMIT_PER_SECOND: number;
  RATE_LIMIT_BURST: number;
  RATE_LIMIT_MAX_CLIENTS: number;
  MAX_URL_LENGTH: number;
  MAX_HEADER_BYTES: number;
  DLQ_TOPIC?: string | undefined;
  TRUST_PROXY?: number | readonly string[] | undefined;
}

/** Builds the SecurityConfig from validated env values. */
export function securityConfig(e: SecurityEnv): SecurityConfig {
  const secrets = e.STREAM_TOKEN_SECRET
    ? [e.STREAM_TOKEN_SECRET, ...(e.STREAM_TOKEN_SECRET_PREVIOUS ? [e.STREAM_TOKEN_SECRET_PREVIOUS] : [])]
    : [];
  return {
    streamTokenSecrets: secrets,
    corsOrigins: e.CORS_ORIGINS ?? [],
    rateLimit: {
      perSecond: e.RATE_LIMIT_PER_SECOND,
      burst: e.RATE_LIMIT_BURST,
      maxClients: e.RATE_LIMIT_MAX_CLIENTS,
    },
    maxUrlLength: e.MAX_URL_LENGTH,
    maxHeaderBytes: e.MAX_HEADER_BYTES,
    dlqTopic: e.DLQ_TOPIC ?? null,
    trustProxy: e.TRUST_PROXY ?? false,
  };
}
