import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from '../context.ts';
import { toGatewayError } from '../errors.ts';
import { responseCounter } from '../observability/http-metrics.ts';
import { safePath } from '../observability/logger.ts';
import type { Endpoint } from '../observability/metrics.ts';
import { overloadGuard } from '../overload/guard.ts';
import { snapshotHandler } from '../poll/snapshot-route.ts';
import { corsAllowlist, corsGrant } from '../security/cors.ts';
import { rateLimitCheck } from '../security/rate-limit-middleware.ts';
import { urlTooLong } from '../security/request-limits.ts';
import { BASE_SECURITY_HEADERS } from '../security/security-headers.ts';
import { serveStream } from '../sse/stream-route.ts';
import { answersAsStream, retryMsFor, sendStreamRetry, waitReason } from '../sse/wait-answer.ts';
import { compileTrust, RequestViews } from './request-view.ts';
import { sendError } from './send-error.ts';

/** Serves the request and returns true, or returns false to leave it to the express app. */
export type FrontDoor = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * `GET`/`HEAD` of `/v1/stream` and `/v1/snapshot`, served on plain node:http ahead of express.
 * These two carry nearly all the traffic (every open stream, every poll), and express costs them
 * most of their memory and CPU: it re-parents each request and response onto its own
 * prototypes, which gives every one of them hidden classes of its own (about 3.7 KB of heap per
 * open stream, and property loads that miss V8's inline caches on every poll; see
 * docs/benchmarks.md). The front door applies what the express middleware chain applies to
 * these paths, in the same order and from the same code: response metrics, base security
 * headers, CORS, the URL length limit, the per-IP rate limit (polls only; streams are bounded by
 * the stream caps), load shedding, then the route, with errors answered by the same catalogue
 * writer. Paths are matched exactly, as every express route is (gateway/http/router.ts): another
 * spelling goes on to express, which answers 404.
 */
export function frontDoor(ctx: GatewayContext): FrontDoor {
  const { security } = ctx.config;
  const counter = responseCounter(ctx.metrics);
  const views = new RequestViews(compileTrust(security.trustProxy));
  const cors = corsAllowlist(security.corsOrigins);
  const rateLimit = rateLimitCheck(ctx);
  const guard = overloadGuard(ctx);
  const snapshot = snapshotHandler(ctx);
  const log = ctx.logger;

  /** Security and CORS headers of an answer, as a flat list. */
  const commonHeaders = (req: IncomingMessage): readonly string[] =>
    cors.size === 0
      ? BASE_SECURITY_HEADERS
      : [...BASE_SECURITY_HEADERS, 'Vary', 'Origin', ...corsGrant(cors, req.headers.origin, false)];

  const fail = (req: IncomingMessage, res: ServerResponse, err: unknown, common: readonly string[]) => {
    const e = toGatewayError(err);
    if (e.code === 'INTERNAL') log.error({ err, path: safePath(req.url ?? '') }, 'unhandled error');
    // A stream client told to wait (draining, overloaded, limits) gets a 200 stream with a
    // retry: and the reason, not a status that would stop an EventSource for good.
    if (!res.headersSent && routeOf(pathOf(req.url ?? '')) === 'stream' && answersAsStream(req, e)) {
      sendStreamRetry(res, e, retryMsFor(e, ctx.config.retryMs, ctx.random), common, req.method);
      ctx.metrics.sseWaitAnswers.inc({ reason: waitReason(e.code) });
      return;
    }
    // Both routes write their headers in one writeHead: an answer not yet sent has none set.
    if (!res.headersSent)
      for (let i = 0; i < common.length; i += 2) res.setHeader(common[i]!, common[i + 1]!);
    sendError(res, e, req.method);
  };

  return (req, res) => {
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const endpoint = routeOf(q < 0 ? url : url.slice(0, q));
    if (endpoint === null) return false;
    const common = commonHeaders(req);
    // A stream is counted when it ends (its subscriber takes over once it opens).
    if (endpoint === 'stream') counter.track(req, res, endpoint);
    try {
      const tooLong = urlTooLong(url, security.maxUrlLength);
      if (tooLong) throw tooLong;
      const view = views.of(req, q);
      if (endpoint === 'stream') {
        // Headers go out in one writeHead: a response that never called setHeader keeps no
        // header table for as long as the stream is open (about 0.7 KB per idle stream).
        serveStream(ctx, view, res, common).catch((err: unknown) => fail(req, res, err, common));
        return true;
      }
      const refused = rateLimit(view);
      if (refused) throw refused;
      guard.admitPoll();
      snapshot(view, res, common);
    } catch (err) {
      fail(req, res, err, common);
    }
    // A poll is answered before this returns: counted at once, without a listener.
    if (endpoint === 'snapshot' && !counter.countEnded(req, res, endpoint)) counter.track(req, res, endpoint);
    return true;
  };
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}

/** The endpoint a path names: its one spelling, as every route matches (router.ts). */
function routeOf(path: string): Extract<Endpoint, 'stream' | 'snapshot'> | null {
  if (path === '/v1/stream') return 'stream';
  if (path === '/v1/snapshot') return 'snapshot';
  return null;
}
