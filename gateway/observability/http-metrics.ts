import type { Socket } from 'node:net';
import type { RequestHandler, Response } from 'express';
import type { Endpoint, GatewayMetrics } from './metrics.ts';

/** Known paths and their endpoint label; anything else is `other` unless a router tags it. */
const PATHS: ReadonlyArray<readonly [string, Endpoint]> = [
  ['/v1/snapshot', 'snapshot'],
  ['/v1/stream', 'stream'],
  ['/v1/telemetry', 'telemetry'],
  ['/v1/stats', 'stats'],
  ['/v1/admin', 'admin'],
  ['/admin', 'admin'],
  ['/metrics', 'metrics'],
  ['/healthz', 'health'],
  ['/readyz', 'health'],
  ['/compare', 'compare'],
];

const TAG = Symbol('switchyard.endpoint');

/**
 * Labels this response with an endpoint of the closed set (for routers serving paths the
 * middleware cannot know, e.g. configured legacy paths). Call before the response ends.
 */
export function tagEndpoint(res: Response, endpoint: Endpoint): void {
  (res as unknown as Record<symbol, Endpoint>)[TAG] = endpoint;
}

/** The endpoint label of a path: a known path or one below it, else `other`. */
export function endpointOfPath(path: string): Endpoint {
  for (const [p, e] of PATHS) if (path === p || path.startsWith(`${p}/`)) return e;
  return 'other';
}

interface InFlight {
  readonly path: Endpoint;
  readonly socket: Socket;
  /** socket.bytesWritten already counted for this response. */
  counted: number;
}

/**
 * Counts every response by endpoint and status, and the bytes written to the client
 * (headers and body, as they left: gzip included), in one place so no route can forget.
 * Bytes come from the socket's counter, so nothing wraps `write`: responses still open (SSE
 * streams) are brought up to date at each scrape, the rest when they end.
 */
export function httpMetrics(metrics: GatewayMetrics): RequestHandler {
  const open = new Map<Response, InFlight>();
  const flush = (res: Response, f: InFlight): Endpoint => {
    const endpoint = (res as unknown as Record<symbol, Endpoint | undefined>)[TAG] ?? f.path;
    const written = f.socket.bytesWritten;
    if (written > f.counted) metrics.responseBytes.inc({ endpoint }, written - f.counted);
    f.counted = written;
    return endpoint;
  };
  metrics.beforeScrape.push(() => {
    for (const [res, f] of open) flush(res, f);
  });
  return (req, res, next) => {
    const socket = req.socket;
    const f: InFlight = { path: endpointOfPath(req.path), socket, counted: socket.bytesWritten };
    open.set(res, f);
    res.once('close', () => {
      open.delete(res);
      const endpoint = flush(res, f);
      // 0: the client went away before any answer (a status code it never saw is not a status).
      metrics.requests.inc({ endpoint, status: res.headersSent ? String(res.statusCode) : '0' });
    });
    next();
  };
}
