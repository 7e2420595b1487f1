import express, { type RequestHandler } from 'express';
import { GatewayError } from '../errors.ts';
import { UTF8_ONLY } from './send-error.ts';

/**
 * A JSON body parser for the gateway's routes (telemetry, admin): plain UTF-8 JSON only, as
 * docs/errors.md promises. A `Content-Encoding` other than `identity` is 415 before any byte is
 * inflated (a compressed body is a decompression bomb waiting to happen, and a broken one used
 * to surface as a 500), and so is a `charset` other than UTF-8 (body-parser alone accepts any
 * `utf-*`, UTF-16 included).
 */
export function jsonBody(opts: {
  limit: number | string;
  type?: string[];
  strict?: boolean;
}): RequestHandler[] {
  return [utf8Only, express.json({ ...opts, inflate: false })];
}

const utf8Only: RequestHandler = (req, _res, next) => {
  const ct = req.headers['content-type'];
  const m = ct === undefined ? null : /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(ct);
  const charset = m?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    return next(
      new GatewayError('UNSUPPORTED_MEDIA_TYPE', UTF8_ONLY, { details: { charset: charset.slice(0, 40) } }),
    );
  next();
};
