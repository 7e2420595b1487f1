import type { IncomingMessage, ServerResponse } from 'node:http';
import { appendVary, header } from '../http/request-view.ts';
import { acceptsGzip, etagMatches, type VersionedBody } from './versioned-body.ts';

/** Below this, gzip costs more than it saves. */
const GZIP_MIN_BYTES = 1024;

/**
 * Sends a versioned JSON body with ETag/304 and optional gzip. Returns the status and bytes
 * sent, for metrics. Headers set by the caller (Cache-Control, ...) are kept.
 */
export function sendVersioned(
  req: Pick<IncomingMessage, 'headers' | 'method'>,
  res: ServerResponse,
  body: VersionedBody,
): { status: number; bytes: number } {
  res.setHeader('ETag', body.etag);
  // Appended, not set: CORS may already vary on Origin.
  appendVary(res, 'Accept-Encoding');
  if (etagMatches(header(req, 'if-none-match'), body.etag)) {
    res.statusCode = 304;
    res.end();
    return { status: 304, bytes: 0 };
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  let payload = body.identity;
  if (payload.length >= GZIP_MIN_BYTES && acceptsGzip(header(req, 'accept-encoding'))) {
    payload = body.gzip;
    res.setHeader('Content-Encoding', 'gzip');
  }
  res.setHeader('Content-Length', String(payload.length));
  res.statusCode = 200;
  res.end(req.method === 'HEAD' ? undefined : payload);
  return { status: 200, bytes: payload.length };
}
