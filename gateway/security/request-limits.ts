import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ErrorCode, GatewayError } from '../errors.ts';

/**
 * The 414 URI_TOO_LONG for a request target past `maxLength` characters, or null. Node's
 * `maxHeaderSize` bounds the request line and headers together; this tighter, explicit bound
 * keeps long query strings (streams lists, event ids, tokens) from reaching any parser.
 */
export function urlTooLong(url: string, maxLength: number): GatewayError | null {
  if (url.length <= maxLength) return null;
  return new GatewayError('URI_TOO_LONG', `the request URL is longer than ${maxLength} characters`, {
    details: { limit: maxLength },
  });
}

/** What a socket-level parse failure is answered with (no request object exists yet). */
export function clientErrorCode(err: NodeJS.ErrnoException): ErrorCode | null {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'HEADERS_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'REQUEST_TIMEOUT';
    case 'ECONNRESET':
    case 'EPIPE':
      return null;
    default:
      return 'BAD_REQUEST';
  }
}

/**
 * Answers requests Node's HTTP parser refuses (headers past `maxHeaderSize` -> 431, malformed
 * requests -> 400, slow requests -> 408) with the catalogue's JSON body instead of Node's empty
 * one, then closes the connection. Call once on the server that serves the app.
 */
export function hardenServer(server: Server): Server {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const code = clientErrorCode(err);
    if (code === null || !socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const e = new GatewayError(code);
    const body = JSON.stringify(e.toJSON());
    socket.end(
      `HTTP/1.1 ${e.status} ${STATUS_TEXT[e.status] ?? 'Error'}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  });
  return server;
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  431: 'Request Header Fields Too Large',
};
