import type { RequestHandler } from 'express';
import { GatewayError } from '../errors.ts';

/** Methods a cross-origin page may use (reads, telemetry posts, admin calls). */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** Request headers a cross-origin page may send. */
export const CORS_ALLOWED_HEADERS =
  'Authorization, Content-Type, Last-Event-ID, If-None-Match, Cache-Control';
/** Response headers a cross-origin page may read (ETags, retry hints, poll interval, staleness). */
export const CORS_EXPOSED_HEADERS =
  'ETag, Retry-After, X-Poll-Interval-Ms, X-Server-Time, X-Switchyard-Stale';
/** How long browsers may cache a preflight answer, in seconds. */
export const CORS_MAX_AGE_SECONDS = 600;

const METHODS = new Set<string>(CORS_METHODS);

/**
 * CORS with an explicit allowlist of exact origins, correct with credentials (cookies carrying a
 * stream token, `EventSource(url, { withCredentials: true })`): an allowed origin is echoed, never
 * `*`, together with `Access-Control-Allow-Credentials: true` and `Vary: Origin` (so a shared cache
 * cannot hand one origin's answer to another). A disallowed origin gets no CORS header at all,
 * and its preflight a 403. With an empty allowlist this is a no-op (same-origin only).
 */
export function corsMiddleware(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins.map((o) => o.toLowerCase()));
  if (allowed.size === 0) return (_req, _res, next) => next();
  return (req, res, next) => {
    res.vary('Origin');
    const origin = req.headers.origin;
    const ok = origin !== undefined && allowed.has(origin.toLowerCase());
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if (!ok) {
      if (preflight) return next(new GatewayError('FORBIDDEN', 'this origin is not allowed (CORS_ORIGINS)'));
      return next();
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Access-Control-Allow-Credentials', 'true');
    if (!preflight) {
      res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS);
      return next();
    }
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
