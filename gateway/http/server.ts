import { createServer, type RequestListener, type Server } from 'node:http';
import { hardenServer } from '../security/request-limits.ts';

/** What bounds a request before the app sees it. */
export interface ServerLimits {
  /** Request line + headers (bytes); past it a JSON 431. Default: Node's 16 KiB (MAX_HEADER_BYTES' default too). */
  maxHeaderBytes?: number;
}

/**
 * The server's timeouts. Long-lived responses get no socket inactivity timeout (heartbeats keep
 * proxies happy); receiving a request is bounded (slowloris: headers in 20 s, the whole request in
 * 30 s, then 408); keep-alive outlasts NGINX's upstream keepalive (60 s), so NGINX closes idle
 * connections first and never sends on one the gateway is closing.
 */
export const SERVER_TIMEOUTS = Object.freeze({
  socketMs: 0,
  requestMs: 30_000,
  headersMs: 20_000,
  keepAliveMs: 65_000,
});

/**
 * The gateway's HTTP server, assembled once for the process (gateway/main.ts) and the test
 * fixtures alike: `listener` behind Node's parser with the header limit, the catalogue's JSON
 * answers for requests the parser refuses (hardenServer), and SERVER_TIMEOUTS. Not listening yet.
 */
export function createHttpServer(listener: RequestListener, limits: ServerLimits = {}): Server {
  const server = hardenServer(
    createServer(
      limits.maxHeaderBytes === undefined ? {} : { maxHeaderSize: limits.maxHeaderBytes },
      listener,
    ),
  );
  server.timeout = SERVER_TIMEOUTS.socketMs;
  server.requestTimeout = SERVER_TIMEOUTS.requestMs;
  server.headersTimeout = SERVER_TIMEOUTS.headersMs;
  server.keepAliveTimeout = SERVER_TIMEOUTS.keepAliveMs;
  return server;
}
