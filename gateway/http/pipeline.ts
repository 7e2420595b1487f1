import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Endpoint } from '../observability/metrics.ts';
import type { RequestView, RequestViews } from './request-view.ts';
import { authOf, endpointOfPath, type RouteAuth, type RouteInfo, routeOf } from './route-table.ts';
import { NO_GRANT, type StreamGrant } from './stream-grant.ts';

/**
 * One request on its way through the pipeline: what every check reads (path, route, client
 * address) worked out once, and the headers every answer to it carries. A class, so every
 * exchange has the same shape (one hidden class on the hot path).
 */
export class Exchange {
  /** The request target as received (path and query). */
  readonly url: string;
  /** Index of the `?` in `url`, -1 when there is none. */
  readonly queryAt: number;
  readonly path: string;
  /** The route this exact path names (route-table.ts), if any. */
  readonly route: RouteInfo | undefined;
  /** Whether a front-door handler serves this method on this path (no express involved). */
  readonly served: boolean;
  /** Label of the response in the metrics. */
  readonly endpoint: Endpoint;
  /** The credential this request needs (route-table.ts `RouteAuth`), if any. */
  readonly auth: RouteAuth | undefined;
  /**
   * What the request may read, set by the authentication step on the routes that need a stream
   * token (`auth: 'stream'`); NO_GRANT (which refuses everything) elsewhere.
   */
  grant: StreamGrant = NO_GRANT;
  /**
   * Headers every answer to this request carries, as a flat `[name, value, ...]` list (security
   * headers, CORS): set by the response-headers check, written in the answer's one `writeHead`
   * on the front door, set on the response before express sees it.
   */
  headers: readonly string[] = NO_HEADERS;
  private address: string | undefined | null = null;
  private parsedQuery: Readonly<Record<string, unknown>> | null = null;

  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    private readonly views: RequestViews,
  ) {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    this.url = url;
    this.queryAt = q;
    this.path = q < 0 ? url : url.slice(0, q);
    const route = routeOf(this.path);
    this.route = route;
    this.served = route?.methods?.includes(req.method ?? '') ?? false;
    this.endpoint = route?.endpoint ?? endpointOfPath(this.path);
    this.auth = authOf(url, this.path, route);
  }

  /** Query parameters (request-view.ts `parseQueryText`), parsed on first use. */
  get query(): Readonly<Record<string, unknown>> {
    if (this.parsedQuery === null) this.parsedQuery = this.views.queryOf(this.url, this.queryAt);
    return this.parsedQuery;
  }

  /** The request as handlers read it (request-view.ts). */
  view(): RequestView {
    return this.views.of(this.req, this.queryAt, this.ip, this.query);
  }

  /** Client address after TRUST_PROXY (docs/security.md), worked out on first use. */
  get ip(): string | undefined {
    if (this.address === null) this.address = this.views.ipOf(this.req);
    return this.address;
  }
}

const NO_HEADERS: readonly string[] = Object.freeze([]);

/** Handles an exchange: answers it, or hands it on. Throws a catalogue error to refuse it. */
export type Dispatch = (ex: Exchange) => void;

/**
 * One step of the pipeline, undici style: given the rest of the pipeline, returns the dispatch
 * that runs this step first. Built once when the app is built, so a request allocates no
 * closures; a step refuses a request by throwing a catalogue error (the error boundary answers
 * it), ends it by not calling `next`, or wraps `next` (metrics).
 */
export type Interceptor = (next: Dispatch) => Dispatch;

/** Chains interceptors around `handler`, the first one outermost. */
export function compose(...interceptors: Interceptor[]): (handler: Dispatch) => Dispatch {
  return (handler) => interceptors.reduceRight<Dispatch>((next, step) => step(next), handler);
}

/** Answers an error thrown by a later step (pipeline checks and synchronous handlers). */
export type ExchangeErrorWriter = (ex: Exchange, err: unknown) => void;

/** The error boundary: whatever a later step throws is answered by `write` (send-error.ts). */
export function errorBoundary(write: ExchangeErrorWriter): Interceptor {
  return (next) => (ex) => {
    try {
      next(ex);
    } catch (err) {
      write(ex, err);
    }
  };
}

/**
 * The whole request listener: builds the exchange and runs it through `dispatch` (the composed
 * pipeline and its final router).
 */
export function requestListener(
  views: RequestViews,
  dispatch: Dispatch,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => dispatch(new Exchange(req, res, views));
}
