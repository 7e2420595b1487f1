import { parse } from 'node:url';
import type { Endpoint } from '../observability/metrics.ts';

/**
 * Who may call a route, checked by the pipeline's authentication step for every request
 * (gateway/security/authentication.ts), before any handler runs or any body is read:
 * - `admin`: an admin bearer token (ADMIN_TOKEN; ADMIN_READ_TOKEN for GET and HEAD), on the path
 *   and every path below it, so a route added there is protected by construction;
 * - `stream`: a stream token (with STREAM_TOKEN_SECRET set) on GET and HEAD of the path; the
 *   handler is handed the verified grant and authorises the streams it serves with it.
 */
export type RouteAuth = 'admin' | 'stream';

/**
 * What the request pipeline (pipeline.ts) knows of a path before any handler runs: its endpoint
 * label for the metrics, whether the per-IP request rate limit applies, and, for the routes the
 * pipeline serves itself (the front door), the methods they answer. The one place a path is
 * named for these purposes: the metrics, the rate limit and the front door read this table.
 */
export interface RouteInfo {
  readonly path: string;
  /** Label of its responses in `switchyard_http_requests_total` and the byte counter. */
  readonly endpoint: Endpoint;
  /**
   * Methods served by a front-door handler (node:http, no express); another method is 405
   * METHOD_NOT_ALLOWED with an `Allow` header. Undefined: the express app routes every method.
   */
  readonly methods?: readonly string[];
  /** `Allow` header value of a front-door route (its methods, joined). */
  readonly allow?: string;
  /**
   * Not counted against the per-IP request rate limit (for the methods it serves, when it has
   * any): probes (orchestrators poll them from one address, and they must answer under any
   * load), and stream connects, which are bounded by the open-stream caps instead
   * (gateway/overload). `/metrics` is limited like any other path: a Prometheus server scrapes
   * once per interval, far below the limit, and a flood of scrapes must not be free (issue 16).
   */
  readonly rateLimitExempt?: boolean;
  /** Load shedding: a poll is refused 503 OVERLOADED while the event loop lags. */
  readonly shedWhenLagging?: boolean;
  /**
   * Its front-door handler answers before it returns (a poll): the response is counted then,
   * with no `close` listener (responseMetrics in observability/http-metrics.ts).
   */
  readonly answeredAtOnce?: boolean;
  /** The credential the route needs (see {@link RouteAuth}); undefined: none. */
  readonly auth?: RouteAuth;
}

const GET_HEAD = Object.freeze(['GET', 'HEAD']);

function route(info: RouteInfo): RouteInfo {
  return Object.freeze(info.methods ? { ...info, allow: info.methods.join(', ') } : info);
}

/** `GET`/`HEAD /v1/stream`: the event stream (front door). */
export const STREAM_ROUTE = route({
  path: '/v1/stream',
  endpoint: 'stream',
  methods: GET_HEAD,
  rateLimitExempt: true,
  auth: 'stream',
});
/** `GET`/`HEAD /v1/snapshot`: the polling contract (front door). */
export const SNAPSHOT_ROUTE = route({
  path: '/v1/snapshot',
  endpoint: 'snapshot',
  methods: GET_HEAD,
  shedWhenLagging: true,
  answeredAtOnce: true,
  auth: 'stream',
});

/**
 * Known paths. A path matches an entry exactly, or is below it (`/v1/admin/rules` is `admin`)
 * for its endpoint label only: the front door and the exemptions need the exact path, as every
 * route matches it (exact-router.ts). Anything else is `other`, unless a router tags its responses
 * (`tagEndpoint`, for configured legacy paths).
 */
export const ROUTES: readonly RouteInfo[] = Object.freeze([
  SNAPSHOT_ROUTE,
  STREAM_ROUTE,
  route({ path: '/v1/telemetry', endpoint: 'telemetry' }),
  route({ path: '/v1/stats', endpoint: 'stats' }),
  route({ path: '/v1/admin', endpoint: 'admin', auth: 'admin' }),
  // The one public document below /v1/admin: the admin API's reference (security: [] in it).
  route({ path: '/v1/admin/openapi.json', endpoint: 'admin' }),
  // A label only: nothing is served under /admin (its 404s are counted as admin).
  route({ path: '/admin', endpoint: 'admin' }),
  route({ path: '/metrics', endpoint: 'metrics' }),
  route({ path: '/healthz', endpoint: 'health', rateLimitExempt: true }),
  route({ path: '/readyz', endpoint: 'health', rateLimitExempt: true }),
  route({ path: '/compare', endpoint: 'compare' }),
  // It names the streams the page draws: with stream tokens on, only to a token that opens them.
  route({ path: '/compare/config.json', endpoint: 'compare', auth: 'stream' }),
]);

const EXACT = new Map(ROUTES.map((r) => [r.path, r]));

/** The entry a path names exactly (one spelling, case-sensitive), or undefined. */
export function routeOf(path: string): RouteInfo | undefined {
  return EXACT.get(path);
}

/** The endpoint label of a path: a known path or one below it, else `other`. */
export function endpointOfPath(path: string): Endpoint {
  const exact = EXACT.get(path);
  if (exact !== undefined) return exact.endpoint;
  for (const r of ROUTES)
    if (path.startsWith(r.path) && path.charCodeAt(r.path.length) === SLASH) return r.endpoint;
  return 'other';
}

/** Entries whose `auth` covers the paths below them too (`admin`). */
const GUARDED_BELOW = ROUTES.filter((r) => r.auth === 'admin');

/**
 * The credential a request for `url` needs, given the entry its path names exactly (`route`,
 * already looked up): that entry's, or that of an admin entry the path is below. The path is the
 * one express routes on, compared without case: a router that folds case or reads an
 * absolute-form target (`GET http://host/v1/admin/...`) must not reach an admin route unguarded.
 */
export function authOf(url: string, path: string, route: RouteInfo | undefined): RouteAuth | undefined {
  if (route !== undefined) return route.auth;
  const lower = routingPath(url, path).toLowerCase();
  for (const r of GUARDED_BELOW)
    if (
      lower.startsWith(r.path) &&
      (lower.length === r.path.length || lower.charCodeAt(r.path.length) === SLASH)
    )
      return r.auth;
  return undefined;
}

/**
 * The path express's router matches `url` on: what its URL parser (parseurl) makes of it, the
 * text before `?` for an ordinary target, `url.parse`'s pathname for anything else (absolute
 * form, a `#`, whitespace).
 */
function routingPath(url: string, path: string): string {
  if (url.charCodeAt(0) === SLASH && !UNUSUAL.test(url)) return path;
  try {
    return parse(url).pathname ?? '';
  } catch {
    return path;
  }
}

/** Characters that send parseurl to `url.parse` (its fast path stops at them). */
const UNUSUAL = /[\t\n\f\r #\u00a0\ufeff]/;

const SLASH = 0x2f;
