import type { ErrorRequestHandler, RequestHandler } from 'express';
import { GatewayError, toGatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { safePath } from '../observability/logger.ts';

/** 404 in the catalogue's JSON shape. */
export const notFound: RequestHandler = (_req, _res, next) => next(new GatewayError('NOT_FOUND'));

/**
 * The one error handler: catalogue errors become their status and JSON body; anything else is
 * logged and answered as INTERNAL without details. Body-parser errors map onto BAD_BODY/BODY_TOO_LARGE.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    let e: GatewayError;
    const type = (err as { type?: string })?.type;
    if (type === 'entity.too.large') e = new GatewayError('BODY_TOO_LARGE');
    else if (type === 'entity.parse.failed') e = new GatewayError('BAD_BODY', 'the body is not valid JSON');
    else e = toGatewayError(err);
    if (e.code === 'INTERNAL') logger.error({ err, path: safePath(req.originalUrl) }, 'unhandled error');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
    res.status(e.status).json(e.toJSON());
  };
}
