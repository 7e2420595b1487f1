import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/load.ts';
import { GatewayError } from '../errors.ts';

/** `read`: inspect admin state; `write`: change it (route modes, rollout rules...). */
export type AdminScope = 'read' | 'write';

/** Compares secrets in constant time (hashing first makes the lengths equal). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

/** The scope a method needs on an admin path: GET and HEAD read, every other method writes. */
export function adminScopeOf(method: string | undefined): AdminScope {
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/**
 * Checks the bearer token of an admin request (the `Authorization` header's value): null when
 * it may go on, else the refusal. Missing or unknown token -> 401 (and nothing changes); the
 * read-only token on a `write` call -> 403. With no ADMIN_TOKEN configured the admin API is
 * closed to everyone. Tokens are never logged (logger redaction covers the header).
 */
export function adminRefusal(
  admin: Config['admin'],
  authorization: string | undefined,
  scope: AdminScope,
): GatewayError | null {
  const m = /^Bearer\s+(\S{1,512})$/i.exec(authorization ?? '');
  const token = m?.[1];
  const { token: writeToken, readToken } = admin;
  if (token !== undefined && writeToken !== null && safeEqual(token, writeToken)) return null;
  if (token !== undefined && readToken !== null && safeEqual(token, readToken)) {
    if (scope === 'read') return null;
    return new GatewayError('FORBIDDEN', 'this token may only read admin state');
  }
  return new GatewayError(
    'UNAUTHORIZED',
    writeToken === null
      ? 'the admin API is disabled: set ADMIN_TOKEN'
      : 'a valid admin bearer token is required',
  );
}
