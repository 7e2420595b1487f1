import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BodyReply } from '../http/reply.ts';
import { appendVary, header } from '../http/request-view.ts';
import { acceptsGzip, etagMatches, type VersionedBody } from './versioned-body.ts';

/** Below this, gzip costs more than it saves. */
const GZIP_MIN_BYTES = 1024;

/**
 * The answer to a request for a versioned JSON body: 304 when its `If-None-Match` holds the
 * ETag, else 200 with the body (gzip when accepted and worth it). `headers` (a flat
 * `[name, value, ...]` list, consumed) come first; `Vary: Accept-Encoding` is added.
 */
export function versionedReply(
  req: Pick<IncomingMessage, 'headers'>,
  body: VersionedBody,
  headers: string[] = [],
): BodyReply {
  headers.push('ETag', body.etag, 'Vary', 'Accept-Encoding');
  if (etagMatches(header(req, 'if-none-match'), body.etag))
    return { kind: 'body', status: 304, headers, body: undefined };
  let payload = body.identity;
  headers.push('Content-Type', 'application/json; charset=utf-8');
  if (payload.length >= GZIP_MIN_BYTES && acceptsGzip(header(req, 'accept-encoding'))) {
    payload = body.gzip;
    headers.push('Content-Encoding', 'gzip');
  }
  headers.push('Content-Length', String(payload.length));
  return { kind: 'body', status: 200, headers, body: payload };
}

/**
 * Sends a versioned JSON body ({@link versionedReply}) on a response that may already carry
 * headers (an express route: Cache-Control, CORS...), which are kept; `Vary` is merged, not
 * replaced. Returns the status and bytes sent, for metrics.
 */
export function sendVersioned(
  req: Pick<IncomingMessage, 'headers' | 'method'>,
  res: ServerResponse,
  body: VersionedBody,
  headers: string[] = [],
): { status: number; bytes: number } {
  const reply = versionedReply(req, body, headers);
  const out = reply.headers as string[];
  if (res.hasHeader('Vary')) {
    // writeHead with a list replaces a header set before: merge Vary into the one on `res`.
    const i = out.lastIndexOf('Vary');
    appendVary(res, out[i + 1]!);
    out.splice(i, 2);
  }
  res.writeHead(reply.status, out);
  res.end(req.method === 'HEAD' ? undefined : reply.body);
  return { status: reply.status, bytes: reply.body?.length ?? 0 };
}
