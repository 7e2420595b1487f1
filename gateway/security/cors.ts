import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.ts';
import { appendVary } from '../http/request-view.ts';

/** Methods a cross-origin page may use (reads, telemetry posts, admin calls). */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** Request headers a cross-origin page may send. */
export const CORS_ALLOWED_HEADERS =
  'Authorization, Content-Type, Last-Event-ID, If-None-Match, Cache-Control';
/** Response headers a cross-origin page may read (ETags, retry hints, poll interval, staleness). */
export const CORS_EXPOSED_HEADERS =
  'ETag, Retry-After, X-Poll-Interval-Ms, X-Server-Time, X-Switchyard-Stale, X-Switchyard-Stale-Streams, X-Switchyard-Rules';
/** How long browsers may cache a preflight answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;

const METHODS = new Set<string>(CORS_METHODS);

/**
 * The CORS headers every answer carries: `Vary: Origin`, and for an allowed origin the origin
 * echoed with credentials allowed (plus, on an actual request, the headers a page may read).
 * Returns whether the origin is allowed. Shared by the middleware and the node:http front door.
 */
export function applyCors(
  allowed: ReadonlySet<string>,
  origin: string | undefined,
  res: ServerResponse,
  preflight: boolean,
): boolean {
  appendVary(res, 'Origin');
  const grant = corsGrant(allowed, origin, preflight);
  for (let i = 0; i < grant.length; i += 2) res.setHeader(grant[i]!, grant[i + 1]!);
  return grant.length > 0;
}

/**
 * The grant headers for `origin` as a flat `[name, value, ...]` list (empty when the origin is
 * not allowed), for responses written in one `writeHead` (event streams). `Vary: Origin` is the
 * caller's, as it goes on every answer.
 */
export function corsGrant(
  allowed: ReadonlySet<string>,
  origin: string | undefined,
  preflight: boolean,
): string[] {
  if (origin === undefined || !allowed.has(origin.toLowerCase())) return [];
  const grant = ['Access-Control-Allow-Origin', origin, 'Access-Control-Allow-Credentials', 'true'];
  if (!preflight) grant.push('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS);
  return grant;
}

/** The allowlist as matched: exact origins, compared case-insensitively. */
export function corsAllowlist(origins: readonly string[]): ReadonlySet<string> {
  return new Set(origins.map((o) => o.toLowerCase()));
}

/**
 * CORS with an explicit allowlist of exact origins, correct with credentials (cookies carrying a
 * stream token, `EventSource(url, { withCredentials: true })`): an allowed origin is echoed, never
 * `*`, together with `Access-Control-Allow-Credentials: true` and `Vary: Origin` (so a shared cache
 * cannot hand one origin's answer to another). A disallowed origin gets no CORS header at all,
 * and its preflight a 403. With an empty allowlist this is a no-op (same-origin only).
 */
export function corsMiddleware(origins: readonly string[]): RequestHandler {
  const allowed = corsAllowlist(origins);
  if (allowed.size === 0) return (_req, _res, next) => next();
  return (req, res, next) => {
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!applyCors(allowed, req.headers.origin, res, preflight)) {
      if (preflight) return next(new GatewayError('FORBIDDEN', 'this origin is not allowed (CORS_ORIGINS)'));
      return next();
    }
    if (!preflight) return next();
    const method = String(req.headers['access-control-request-method']).toUpperCase();
    if (!METHODS.has(method))
      return next(
        new GatewayError('METHOD_NOT_ALLOWED', `${method.slice(0, 16)} is not allowed cross-origin`),
      );
    res.setHeader('Access-Control-Allow-Methods', CORS_METHODS.join(', '));
    res.setHeader('Access-Control-Allow-Headers', CORS_ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', String(CORS_MAX_AGE_SECONDS));
    res.status(204).end();
  };
}
