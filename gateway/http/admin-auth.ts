import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
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

/**
 * Guards admin endpoints with a bearer token: missing or unknown token -> 401 (and nothing
 * changes); the read-only token on a `write` endpoint -> 403. With no ADMIN_TOKEN configured the
 * admin API is closed to everyone. Tokens are never logged (logger redaction covers the header).
 */
export function requireAdmin(config: Pick<Config, 'admin'>, scope: AdminScope): RequestHandler {
  return (req, _res, next) => {
    const header = req.get('authorization') ?? '';
    const m = /^Bearer\s+(\S{1,512})$/i.exec(header);
    const token = m?.[1];
    const { token: writeToken, readToken } = config.admin;
    if (token !== undefined && writeToken !== null && safeEqual(token, writeToken)) return next();
    if (token !== undefined && readToken !== null && safeEqual(token, readToken)) {
      if (scope === 'read') return next();
      return next(new GatewayError('FORBIDDEN', 'this token may only read admin state'));
    }
    next(
      new GatewayError(
        'UNAUTHORIZED',
        writeToken === null
          ? 'the admin API is disabled: set ADMIN_TOKEN'
          : 'a valid admin bearer token is required',
      ),
    );
  };
}
