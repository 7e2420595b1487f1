import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Stream access tokens: compact JWTs signed with HMAC-SHA256 (`HS256`), so an operator's own
 * backend can mint them with any JWT library, or with `scripts/mint-token.ts`. Claims:
 * - `exp` (required): expiry, epoch seconds;
 * - `streams` (required): the stream names the token opens, or `"*"` for every stream;
 * - `nbf` (optional): not valid before, epoch seconds; `sub` (optional): who it was minted for.
 * Only `HS256` is accepted: the header cannot pick another algorithm (no `none`, no RS/HS confusion).
 * Pure: time comes from the caller.
 */

/** Longest token accepted; longer input is refused before any decoding or hashing. */
export const MAX_TOKEN_LENGTH = 4096;
/** Streams one token may name (the config allows at most 64 streams). */
export const MAX_TOKEN_STREAMS = 64;

export interface StreamTokenClaims {
  /** Expiry, epoch seconds. */
  readonly exp: number;
  /** Stream names this token opens, or `'*'` for all of them. */
  readonly streams: readonly string[] | '*';
  readonly nbf?: number;
  readonly iat?: number;
  readonly sub?: string;
}

export type TokenFailure = 'malformed' | 'bad_signature' | 'expired' | 'not_yet_valid';

export type TokenCheck = { ok: true; claims: StreamTokenClaims } | { ok: false; reason: TokenFailure };

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
const SHAPE = /^[A-Za-z0-9_-]{1,512}\.[A-Za-z0-9_-]{1,3500}\.[A-Za-z0-9_-]{43}$/;
const STREAM_NAME = /^[a-z][a-z0-9_]{0,31}$/;

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function sign(secret: string, signingInput: string): Buffer {
  return createHmac('sha256', secret).update(signingInput).digest();
}

/** Mints a token (for tests, the CLI and operators' tooling). `claims.exp` is epoch seconds. */
export function mintStreamToken(secret: string, claims: StreamTokenClaims): string {
  const body = base64url(JSON.stringify(claims));
  const input = `${HEADER}.${body}`;
  return `${input}.${sign(secret, input).toString('base64url')}`;
}

/**
 * Verifies a token against the current secret and, during a rotation, the previous one.
 * Never throws; the MAC is checked (in constant time) before the claims are even parsed.
 */
export function verifyStreamToken(token: string, secrets: readonly string[], nowMs: number): TokenCheck {
  if (token.length > MAX_TOKEN_LENGTH || !SHAPE.test(token)) return { ok: false, reason: 'malformed' };
  const [h, p, s] = token.split('.') as [string, string, string];
  const signature = Buffer.from(s, 'base64url');
  // Canonical encoding only: the last character's spare bits must be zero (no token aliases).
  if (signature.toString('base64url') !== s) return { ok: false, reason: 'malformed' };
  const input = `${h}.${p}`;
  let valid = false;
  for (const secret of secrets) if (timingSafeEqual(sign(secret, input), signature)) valid = true;
  if (!valid) return { ok: false, reason: 'bad_signature' };
  const header = parseJson(h);
  if (!isRecord(header) || header.alg !== 'HS256') return { ok: false, reason: 'malformed' };
  const claims = readClaims(parseJson(p));
  if (claims === null) return { ok: false, reason: 'malformed' };
  if (claims.exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  if (claims.nbf !== undefined && claims.nbf * 1000 > nowMs) return { ok: false, reason: 'not_yet_valid' };
  return { ok: true, claims };
}

/** The names among `names` that the claims do not open (empty: all allowed). */
export function deniedStreams(claims: StreamTokenClaims, names: readonly string[]): string[] {
  if (claims.streams === '*') return [];
  const allowed = claims.streams;
  return names.filter((n) => !allowed.includes(n));
}

function parseJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const isEpochSeconds = (v: unknown): v is number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 && v < 1e11;

/** Validates the claim set; null when anything is off (unknown claims are ignored, as JWT wants). */
function readClaims(v: unknown): StreamTokenClaims | null {
  if (!isRecord(v) || !isEpochSeconds(v.exp)) return null;
  let streams: readonly string[] | '*';
  if (v.streams === '*') streams = '*';
  else if (
    Array.isArray(v.streams) &&
    v.streams.length <= MAX_TOKEN_STREAMS &&
    v.streams.every((n) => typeof n === 'string' && STREAM_NAME.test(n))
  )
    streams = v.streams as string[];
  else return null;
  if (v.nbf !== undefined && !isEpochSeconds(v.nbf)) return null;
  if (v.iat !== undefined && !isEpochSeconds(v.iat)) return null;
  if (v.sub !== undefined && (typeof v.sub !== 'string' || v.sub.length > 256)) return null;
  return {
    exp: v.exp,
    streams,
    ...(v.nbf === undefined ? {} : { nbf: v.nbf as number }),
    ...(v.iat === undefined ? {} : { iat: v.iat as number }),
    ...(v.sub === undefined ? {} : { sub: v.sub as string }),
  };
}
