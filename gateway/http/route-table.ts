import type { Endpoint } from '../observability/metrics.ts';

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
});
/** `GET`/`HEAD /v1/snapshot`: the polling contract (front door). */
export const SNAPSHOT_ROUTE = route({
  path: '/v1/snapshot',
  endpoint: 'snapshot',
  methods: GET_HEAD,
  shedWhenLagging: true,
  answeredAtOnce: true,
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
  route({ path: '/v1/admin', endpoint: 'admin' }),
  route({ path: '/admin', endpoint: 'admin' }),
  route({ path: '/metrics', endpoint: 'metrics' }),
  route({ path: '/healthz', endpoint: 'health', rateLimitExempt: true }),
  route({ path: '/readyz', endpoint: 'health', rateLimitExempt: true }),
  route({ path: '/compare', endpoint: 'compare' }),
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

const SLASH = 0x2f;
