import type { Request, Response } from 'express';
import { acceptsGzip, etagMatches, type VersionedBody } from './versioned-body.ts';

/** Below this, gzip costs more than it saves. */
const GZIP_MIN_BYTES = 1024;

/**
 * Sends a versioned JSON body with ETag/304 and optional gzip. Returns the status and bytes
 * sent, for metrics. Headers set by the caller (Cache-Control, ...) are kept.
 */
export function sendVersioned(
  req: Request,
  res: Response,
  body: VersionedBody,
): { status: number; bytes: number } {
  res.setHeader('ETag', body.etag);
  // Appended, not set: CORS may already vary on Origin.
  res.vary('Accept-Encoding');
  if (etagMatches(req.get('if-none-match'), body.etag)) {
    res.status(304).end();
    return { status: 304, bytes: 0 };
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  let payload = body.identity;
  if (payload.length >= GZIP_MIN_BYTES && acceptsGzip(req.get('accept-encoding'))) {
    payload = body.gzip;
    res.setHeader('Content-Encoding', 'gzip');
  }
  res.setHeader('Content-Length', String(payload.length));
  res.status(200).end(req.method === 'HEAD' ? undefined : payload);
  return { status: 200, bytes: payload.length };
}
