import type { IncomingMessage, ServerResponse } from 'node:http';
import { appendVary, header } from '../http/request-view.ts';
import { acceptsGzip, etagMatches, type VersionedBody } from './versioned-body.ts';

/** Below this, gzip costs more than it saves. */
const GZIP_MIN_BYTES = 1024;

/**
 * Sends a versioned JSON body with ETag/304 and optional gzip. Returns the status and bytes
 * sent, for metrics. `headers` (a flat `[name, value, ...]` list, consumed) go out in the same
 * `writeHead`, with headers already set on `res` (Cache-Control, CORS...) kept; `Vary` is
 * merged, not replaced.
 */
export function sendVersioned(
  req: Pick<IncomingMessage, 'headers' | 'method'>,
  res: ServerResponse,
  body: VersionedBody,
  headers: string[] = [],
): { status: number; bytes: number } {
  headers.push('ETag', body.etag);
  addVary(res, headers, 'Accept-Encoding');
  if (etagMatches(header(req, 'if-none-match'), body.etag)) {
    res.writeHead(304, headers);
    res.end();
    return { status: 304, bytes: 0 };
  }
  let payload = body.identity;
  headers.push('Content-Type', 'application/json; charset=utf-8');
  if (payload.length >= GZIP_MIN_BYTES && acceptsGzip(header(req, 'accept-encoding'))) {
    payload = body.gzip;
    headers.push('Content-Encoding', 'gzip');
  }
  headers.push('Content-Length', String(payload.length));
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : payload);
  return { status: 200, bytes: payload.length };
}

/** Adds `field` to the Vary of the answer: the one set on `res`, else one in `headers`, else a new one. */
function addVary(res: ServerResponse, headers: string[], field: string): void {
  if (res.hasHeader('Vary')) {
    appendVary(res, field);
    return;
  }
  for (let i = 0; i < headers.length; i += 2)
    if (headers[i]!.toLowerCase() === 'vary') {
      headers[i + 1] = `${headers[i + 1]}, ${field}`;
      return;
    }
  headers.push('Vary', field);
}
