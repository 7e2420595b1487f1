import { GatewayError } from '../errors.ts';
import type { Dispatch, Exchange, ExchangeErrorWriter } from './pipeline.ts';
import { type Reply, writeBody, writeStream } from './reply.ts';
import type { RequestView } from './request-view.ts';
import type { RouteInfo } from './route-table.ts';
import type { StreamGrant } from './stream-grant.ts';

/**
 * A front-door handler: what to send for a request, or a thrown catalogue error. `grant` is
 * what the pipeline's authentication step verified (the route table's `auth`).
 */
export type FrontDoorHandler = (req: RequestView, grant: StreamGrant) => Reply;

/** What the front door routes to. */
export interface FrontDoorDeps {
  /** The handler of each front-door route (route-table.ts entries with `methods`). */
  readonly handlers: ReadonlyMap<RouteInfo, FrontDoorHandler>;
  /** Every other request: the express app. */
  readonly fallback: (ex: Exchange) => void;
  /** The error path of a stream that fails after its handler returned (send-error.ts). */
  readonly fail: ExchangeErrorWriter;
}

/**
 * The end of the request pipeline (pipeline.ts): `GET`/`HEAD` of `/v1/stream` and
 * `/v1/snapshot` are served here on plain node:http, every other request goes on to express.
 * These two carry nearly all the traffic (every open stream, every poll), and express costs them
 * most of their memory and CPU: it re-parents each request and response onto its own
 * prototypes, which gives every one of them hidden classes of its own (about 3.7 KB of heap per
 * open stream, and property loads that miss V8's inline caches on every poll; see
 * docs/benchmarks.md). The checks before this (metrics, security headers, CORS, limits, rate
 * limit, load shedding, authentication) ran for both alike. Paths are matched exactly, as every
 * express route is (gateway/http/exact-router.ts); another method on these paths is 405 with an
 * `Allow` header.
 */
export function frontDoor(deps: FrontDoorDeps): Dispatch {
  const { handlers, fallback, fail } = deps;
  return (ex) => {
    const route = ex.route;
    const handler = route === undefined ? undefined : handlers.get(route);
    if (route === undefined || handler === undefined) return fallback(ex);
    if (!ex.served) throw methodNotAllowed(ex, route);
    const reply = handler(ex.view(), ex.grant);
    if (reply.kind === 'body') writeBody(ex.res, ex.req.method, reply, ex.headers);
    else writeStream(ex.res, reply, ex.headers).catch((err: unknown) => fail(ex, err));
  };
}

/** 405 for a method a front-door route does not serve, with its `Allow` header. */
function methodNotAllowed(ex: Exchange, route: RouteInfo): GatewayError {
  ex.headers = [...ex.headers, 'Allow', route.allow ?? ''];
  const method = String(ex.req.method).slice(0, 16);
  return new GatewayError(
    'METHOD_NOT_ALLOWED',
    `${method} is not allowed on ${route.path}; use ${route.allow}`,
    {
      details: { allow: route.methods },
    },
  );
}

/**
 * Hands a request to the express app, with the pipeline's common headers set on its response
 * (express routes add theirs with `setHeader`).
 */
export function toExpress(app: (req: Exchange['req'], res: Exchange['res']) => void): (ex: Exchange) => void {
  return (ex) => {
    const { res, headers } = ex;
    for (let i = 0; i < headers.length; i += 2) res.setHeader(headers[i]!, headers[i + 1]!);
    app(ex.req, res);
  };
}
