import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Counter } from 'prom-client';
import type { Interceptor } from './pipeline.ts';

/**
 * Requests one connection may have waiting behind an unfinished response (HTTP/1.1
 * pipelining). Browsers and NGINX never pipeline; a client that queues more is closed.
 */
export const MAX_QUEUED_PER_CONNECTION = 8;

/** Why the gateway closed a connection instead of answering a request on it. */
export type ConnectionCloseReason = 'pipelined_behind_stream' | 'pipeline_too_deep';

/** Connections carrying an open stream (or one waiting for its turn on the socket). */
const streaming = new WeakSet<Socket>();
/** Responses waiting for their turn, per connection (only connections that pipeline are here). */
const queued = new WeakMap<Socket, number>();

/** What the guard counts its closes with (`switchyard_connections_closed_total`, GatewayMetrics.connectionsClosed). */
export type ClosedConnections = Pick<Counter<'reason'>, 'inc'>;

/**
 * Marks `conn` as carrying a stream until `streamEnded(conn)`: any request that arrives on it
 * meanwhile could only be answered after the stream, i.e. never (the SSE subscriber calls this).
 */
export function streamStarted(conn: Socket): void {
  streaming.add(conn);
}

export function streamEnded(conn: Socket): void {
  streaming.delete(conn);
}

/**
 * What one connection may ask of the gateway, checked on every request before any route (HTTP/1.1
 * pipelining, issue 16). Node dispatches every request it parses at once, even when its response
 * must wait for the ones before it on the socket; such a response gets no `close` event when the
 * socket goes (only the response on the socket does), so:
 * - a request on a connection that is already gone is dropped unanswered (it was parsed from the
 *   same bytes as the request that closed it);
 * - a request pipelined behind an open stream closes the connection, stream included: the
 *   request could never be answered (a stream does not end), and an unanswerable queue is how
 *   one socket held thousands of "streams". The client reconnects (EventSource does, with its
 *   Last-Event-ID) and sends one request per stream connection.
 * - at most {@link MAX_QUEUED_PER_CONNECTION} responses may wait on one connection; one more
 *   closes it. Bounds what a connection can make the gateway render and hold (`/metrics`,
 *   stats, admin, telemetry) whatever the per-address rate limit allows.
 * Returns false when the request must not be served.
 */
export function admitOnConnection(
  closed: ClosedConnections,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const conn = req.socket;
  if (conn.destroyed) {
    stopParsing(conn);
    return false;
  }
  if (res.socket !== null) return true; // first in line: the common case, nothing to count
  if (streaming.has(conn)) return close(closed, conn, 'pipelined_behind_stream');
  const n = (queued.get(conn) ?? 0) + 1;
  if (n > MAX_QUEUED_PER_CONNECTION) return close(closed, conn, 'pipeline_too_deep');
  queued.set(conn, n);
  // Only responses that wait carry this listener; the socket's entry dies with the socket.
  res.once('finish', () => {
    const left = (queued.get(conn) ?? 1) - 1;
    if (left > 0) queued.set(conn, left);
    else queued.delete(conn);
  });
  return true;
}

function close(closed: ClosedConnections, conn: Socket, reason: ConnectionCloseReason): false {
  closed.inc({ reason });
  conn.destroy();
  stopParsing(conn);
  return false;
}

/** What Node's parser reads from `onIncoming` to stop: an error, as for a malformed request. */
const STOP = (): number => -1;

/**
 * Stops Node's HTTP parser on a connection being closed from dispatching the rest of what it
 * already read. Node parses each chunk read from a socket (up to 64 KiB, some 1,600 pipelined
 * requests) to its end and dispatches every request in it, even after the socket is destroyed:
 * about 10 ms of event loop per chunk, 0.5 s for 40 connections arriving together, during which
 * `/healthz` waits (issue 16). There is no public way to stop it; the parser asks
 * `parser.onIncoming` (set by node:http for every connection, reset when the parser is reused)
 * what to do after each request's headers, and -1 makes it stop with a parse error, which the
 * server then handles as a client error on a socket already gone. Pinned by
 * test/hostile/pipelining.test.ts: if a Node release changes this, the flood test fails.
 */
function stopParsing(conn: Socket): void {
  const parser = (conn as { parser?: { onIncoming?: unknown } | null }).parser;
  if (parser && typeof parser.onIncoming === 'function') parser.onIncoming = STOP;
}

/**
 * The connection guard as the pipeline's first step: a request that must not be served is
 * dropped (its connection closed) before any other check runs.
 */
export function connectionGuard(closed: ClosedConnections): Interceptor {
  return (next) => (ex) => {
    if (admitOnConnection(closed, ex.req, ex.res)) next(ex);
  };
}
