import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestHandler } from 'express';
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
export function tagEndpoint(res: ServerResponse, endpoint: Endpoint): void {
  (res as unknown as Record<symbol, Endpoint>)[TAG] = endpoint;
}

/** The endpoint label of a path: a known path or one below it, else `other`. */
export function endpointOfPath(path: string): Endpoint {
  for (const [p, e] of PATHS) if (path === p || path.startsWith(`${p}/`)) return e;
  return 'other';
}

/**
 * An open response counted by its owner instead of one by one: the stream route hands its open
 * streams over, so an idle stream costs the counter no map entry and no listener.
 */
export interface OwnedResponse {
  readonly res: ServerResponse;
  readonly conn: Socket | null;
  /** `conn.bytesWritten` already counted; -1 when the response was never tracked. */
  countedBytes: number;
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
 * streams) are brought up to date at each scrape, the rest when they end. One per metrics
 * registry, shared by the express app and the node:http front door.
 */
export class ResponseCounter {
  private readonly open = new Map<ServerResponse, InFlight>();
  /** One shared `close` listener (`this` is the response): no closure per request or open stream. */
  private readonly onClose: (this: ServerResponse) => void;

  private readonly owners: Array<{ endpoint: Endpoint; open: () => Iterable<OwnedResponse> }> = [];

  constructor(private readonly metrics: GatewayMetrics) {
    metrics.beforeScrape.push(() => {
      for (const [res, f] of this.open) this.flush(res, f);
      for (const { endpoint, open } of this.owners) for (const o of open()) this.flushOwned(endpoint, o);
    });
    const counter = this;
    this.onClose = function (this: ServerResponse) {
      counter.closed(this);
    };
  }

  /**
   * Starts counting `res` under `endpoint` (a router may re-tag it with tagEndpoint), from
   * `counted` bytes of its connection on (default: now).
   */
  track(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, counted?: number): void {
    const socket = req.socket;
    this.open.set(res, { path: endpoint, socket, counted: counted ?? socket.bytesWritten });
    res.on('close', this.onClose);
  }

  /**
   * Counts a response that was answered in full before its handler returned, with no listener:
   * `end()` has handed every byte to the socket, whose `bytesWritten` counts what it buffers.
   * Returns false (and counts nothing) when that does not hold: the caller tracks it instead.
   */
  countEnded(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint, bytesBefore: number): boolean {
    // A pipelined response waits for the ones before it: its bytes are not on the socket yet.
    if (!res.writableEnded || res.socket !== req.socket || req.socket === null) return false;
    const written = req.socket.bytesWritten - bytesBefore;
    if (written > 0) this.bytesOf(endpoint).inc(written);
    this.requestsOf(endpoint, res.statusCode).inc();
    return true;
  }

  private readonly requestChildren = new Map<string, ReturnType<GatewayMetrics['requests']['labels']>>();
  private readonly byteChildren = new Map<Endpoint, ReturnType<GatewayMetrics['responseBytes']['labels']>>();

  /** The request counter of one endpoint and status (label lookups cached: a poll is hot). */
  private requestsOf(endpoint: Endpoint, status: number) {
    const key = `${endpoint} ${status}`;
    let c = this.requestChildren.get(key);
    if (c === undefined) {
      c = this.metrics.requests.labels(endpoint, String(status));
      this.requestChildren.set(key, c);
    }
    return c;
  }

  private bytesOf(endpoint: Endpoint) {
    let c = this.byteChildren.get(endpoint);
    if (c === undefined) {
      c = this.metrics.responseBytes.labels(endpoint);
      this.byteChildren.set(endpoint, c);
    }
    return c;
  }

  /**
   * Hands the counting of a tracked response over to `owned` (which must then be listed by an
   * owner, see addOwner, and reported with closedOwned when it ends).
   */
  handOver(res: ServerResponse, owned: OwnedResponse): void {
    const f = this.open.get(res);
    if (f === undefined) return;
    this.open.delete(res);
    res.off('close', this.onClose);
    owned.countedBytes = f.counted;
  }

  /** Registers the open responses handed over under `endpoint`, brought up to date at each scrape. */
  addOwner(endpoint: Endpoint, open: () => Iterable<OwnedResponse>): void {
    this.owners.push({ endpoint, open });
  }

  /** A handed-over response ended: its last bytes, and its request with its status. */
  closedOwned(endpoint: Endpoint, o: OwnedResponse): void {
    if (o.countedBytes < 0) return;
    this.flushOwned(endpoint, o);
    o.countedBytes = -1;
    this.requestsOf(endpoint, o.res.headersSent ? o.res.statusCode : 0).inc();
  }

  private flushOwned(endpoint: Endpoint, o: OwnedResponse): void {
    if (o.countedBytes < 0 || o.conn === null) return;
    const written = o.conn.bytesWritten;
    if (written > o.countedBytes) this.bytesOf(endpoint).inc(written - o.countedBytes);
    o.countedBytes = written;
  }

  private flush(res: ServerResponse, f: InFlight): Endpoint {
    const endpoint = (res as unknown as Record<symbol, Endpoint | undefined>)[TAG] ?? f.path;
    const written = f.socket.bytesWritten;
    if (written > f.counted) this.bytesOf(endpoint).inc(written - f.counted);
    f.counted = written;
    return endpoint;
  }

  /** The response closed: count it once, with its status (0: the client left before any answer). */
  private closed(res: ServerResponse): void {
    const f = this.open.get(res);
    if (f === undefined) return;
    this.open.delete(res);
    const endpoint = this.flush(res, f);
    this.requestsOf(endpoint, res.headersSent ? res.statusCode : 0).inc();
  }
}

const counters = new WeakMap<GatewayMetrics, ResponseCounter>();

/** The response counter of a metrics registry (created on first use). */
export function responseCounter(metrics: GatewayMetrics): ResponseCounter {
  let c = counters.get(metrics);
  if (!c) {
    c = new ResponseCounter(metrics);
    counters.set(metrics, c);
  }
  return c;
}

/** The counter as express middleware: every response, labelled by its path. */
export function httpMetrics(metrics: GatewayMetrics): RequestHandler {
  const counter = responseCounter(metrics);
  return (req, res, next) => {
    counter.track(req, res, endpointOfPath(req.path));
    next();
  };
}
