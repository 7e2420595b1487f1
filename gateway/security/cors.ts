import { GatewayError } from '../errors.ts';
import type { Interceptor } from '../http/pipeline.ts';
import { BASE_SECURITY_HEADERS } from './security-headers.ts';

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
 * The grant headers for `origin` as a flat `[name, value, ...]` list (empty when the origin is
 * not allowed), for every answer the pipeline makes (written in one `writeHead` on the front
 * door). `Vary: Origin` is the caller's, as it goes on every answer.
 */
export function corsGrant(
  allowed: ReadonlySet<string>,
  origin: string | undefined,
  preflight: boolean,
): readonly string[] {
  if (origin === undefined || !allowed.has(origin.toLowerCase())) return NO_GRANT;
  const grant = ['Access-Control-Allow-Origin', origin, 'Access-Control-Allow-Credentials', 'true'];
  if (!preflight) grant.push('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS);
  return grant;
}

const NO_GRANT: readonly string[] = Object.freeze([]);

/** The allowlist as matched: exact origins, compared case-insensitively. */
export function corsAllowlist(origins: readonly string[]): ReadonlySet<string> {
  return new Set(origins.map((o) => o.toLowerCase()));
}

/**
 * The pipeline step that sets the headers every answer carries (`ex.headers`): the base security
 * headers, and CORS with an explicit allowlist of exact origins, correct with credentials
 * (cookies carrying a stream token, `EventSource(url, { withCredentials: true })`): an allowed
 * origin is echoed, never `*`, together with `Access-Control-Allow-Credentials: true` and
 * `Vary: Origin` (so a shared cache cannot hand one origin's answer to another). A disallowed
 * origin gets no CORS header at all, and its preflight a 403. Preflights are answered here
 * (204), before the limits. With an empty allowlist, CORS is off (same-origin only).
 */
export function securityAndCorsHeaders(origins: readonly string[]): Interceptor {
  const allowed = corsAllowlist(origins);
  if (allowed.size === 0)
    return (next) => (ex) => {
      ex.headers = BASE_SECURITY_HEADERS;
      next(ex);
    };
  // Most requests carry no allowed origin (same-origin pages, EventSource without CORS): they
  // share one frozen list instead of allocating two arrays each (nothing mutates ex.headers).
  const varyOnly: readonly string[] = Object.freeze([...BASE_SECURITY_HEADERS, 'Vary', 'Origin']);
  return (next) => (ex) => {
    const { req, res } = ex;
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    const grant = corsGrant(allowed, req.headers.origin, preflight);
    ex.headers = grant.length === 0 ? varyOnly : [...varyOnly, ...grant];
    if (!preflight) return next(ex);
    if (grant.length === 0) throw new GatewayError('FORBIDDEN', 'this origin is not allowed (CORS_ORIGINS)');
    const method = String(req.headers['access-control-request-method']).toUpperCase();
    if (!METHODS.has(method))
      throw new GatewayError('METHOD_NOT_ALLOWED', `${method.slice(0, 16)} is not allowed cross-origin`);
    res.writeHead(204, [
      ...ex.headers,
      'Access-Control-Allow-Methods',
      CORS_METHODS.join(', '),
      'Access-Control-Allow-Headers',
      CORS_ALLOWED_HEADERS,
      'Access-Control-Max-Age',
      String(CORS_MAX_AGE_SECONDS),
    ]);
    res.end();
  };
}
