import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Interceptor } from '../http/pipeline.ts';
import type { Endpoint, GatewayMetrics } from './metrics.ts';

const TAG = Symbol('switchyard.endpoint');

/**
 * Labels this response with an endpoint of the closed set (for routers serving paths the
 * route table (gateway/http/route-table.ts) cannot know, e.g. configured legacy paths). Call before the response ends.
 */
export function tagEndpoint(res: ServerResponse, endpoint: Endpoint): void {
  (res as unknown as Record<symbol, Endpoint>)[TAG] = endpoint;
}

/**
 * An open response counted by its owner instead of one by one: the stream route hands its open
 * streams over, so an idle stream costs the counter no map entry and no listener.
 */
export interface OwnedResponse {
  readonly res: ServerResponse;
  readonly conn: Socket | null;
  /** Whether the counter handed this response over (false: never tracked, or already ended). */
  counted: boolean;
}

interface InFlight {
  readonly path: Endpoint;
  readonly socket: Socket;
}

/** Where a connection's `bytesWritten` was last counted up to. */
const COUNTED = Symbol('switchyard.countedBytes');
type CountedSocket = Socket & { [COUNTED]?: number };

/**
 * The bytes a connection wrote since they were last counted. One mark per connection, not per
 * response: pipelined responses overlap on their socket, and each byte must count once.
 */
function newBytes(socket: CountedSocket): number {
  const written = socket.bytesWritten;
  const before = socket[COUNTED] ?? 0;
  if (written <= before) return 0;
  socket[COUNTED] = written;
  return written - before;
}

/**
 * Counts every response by endpoint and status, and the bytes written to the client
 * (headers and body, as they left: gzip included), in one place so no route can forget.
 * Bytes come from the socket's counter, so nothing wraps `write`: responses still open (SSE
 * streams) are brought up to date at each scrape, the rest when they end. One per gateway,
 * built with the app: the pipeline's first check after the connection guard
 * ({@link responseMetrics}), and the stream route's byte count once a stream is open.
 */
export class ResponseCounter {
  private readonly open = new Map<ServerResponse, InFlight>();
  /** One shared `close` listener (`this` is the response): no closure per request or open stream. */
  private readonly onClose: (this: ServerResponse) => void;
  private readonly owners: Array<{ endpoint: Endpoint; open: () => Iterable<OwnedResponse> }> = [];
  private readonly requestChildren = new Map<string, ReturnType<GatewayMetrics['requests']['labels']>>();
  private readonly byteChildren = new Map<Endpoint, ReturnType<GatewayMetrics['responseBytes']['labels']>>();

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

  /** Starts counting `res` under `endpoint` (a router may re-tag it with tagEndpoint). */
  track(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint): void {
    this.open.set(res, { path: endpoint, socket: req.socket });
    res.on('close', this.onClose);
  }

  /**
   * Counts a response that was answered in full before its handler returned, with no listener:
   * `end()` has handed every byte to the socket, whose `bytesWritten` counts what it buffers.
   * Returns false (and counts nothing) when that does not hold: the caller tracks it instead.
   */
  countEnded(req: IncomingMessage, res: ServerResponse, endpoint: Endpoint): boolean {
    // A pipelined response waits for the ones before it: its bytes are not on the socket yet.
    if (!res.writableEnded || res.socket !== req.socket || req.socket === null) return false;
    const bytes = newBytes(req.socket);
    if (bytes > 0) this.bytesOf(endpoint).inc(bytes);
    this.requestsOf(endpoint, res.statusCode).inc();
    return true;
  }

  /**
   * Hands the counting of a tracked response over to `owned`, which must then be listed by an
   * owner (addOwner) and reported with closedOwned when it ends.
   */
  handOver(res: ServerResponse, owned: OwnedResponse): void {
    const f = this.open.get(res);
    if (f === undefined) return;
    this.open.delete(res);
    res.off('close', this.onClose);
    owned.counted = true;
  }

  /** Registers the open responses handed over under `endpoint`, brought up to date at each scrape. */
  addOwner(endpoint: Endpoint, open: () => Iterable<OwnedResponse>): void {
    this.owners.push({ endpoint, open });
  }

  /** A handed-over response ended: its last bytes, and its request with its status. */
  closedOwned(endpoint: Endpoint, o: OwnedResponse): void {
    if (!o.counted) return;
    this.flushOwned(endpoint, o);
    o.counted = false;
    this.requestsOf(endpoint, o.res.headersSent ? o.res.statusCode : 0).inc();
  }

  private flushOwned(endpoint: Endpoint, o: OwnedResponse): void {
    // A pipelined stream is not on its socket until the responses before it end.
    const conn = o.conn ?? o.res.socket;
    if (!o.counted || conn === null) return;
    const bytes = newBytes(conn);
    if (bytes > 0) this.bytesOf(endpoint).inc(bytes);
  }

  private flush(res: ServerResponse, f: InFlight): Endpoint {
    const endpoint = (res as unknown as Record<symbol, Endpoint | undefined>)[TAG] ?? f.path;
    const bytes = newBytes(f.socket);
    if (bytes > 0) this.bytesOf(endpoint).inc(bytes);
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
}

/**
 * The pipeline step that counts every response (errors, 404s and 429s included) by endpoint
 * and status. A route that answers before its handler returns (`answeredAtOnce`, the poll) is
 * counted then, without a listener; every other response when it closes, and a stream is
 * handed over to its subscriber once it opens.
 */
export function responseMetrics(counter: ResponseCounter): Interceptor {
  return (next) => (ex) => {
    if (ex.served && ex.route?.answeredAtOnce === true) {
      next(ex);
      if (!counter.countEnded(ex.req, ex.res, ex.endpoint)) counter.track(ex.req, ex.res, ex.endpoint);
      return;
    }
    counter.track(ex.req, ex.res, ex.endpoint);
    next(ex);
  };
}
