import type { ErrorRequestHandler, RequestHandler } from 'express';
import { GatewayError, toGatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { safePath } from '../observability/logger.ts';
import { sendError } from './send-error.ts';

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
    const status = (err as { status?: unknown })?.status;
    if (type === 'entity.too.large') e = new GatewayError('BODY_TOO_LARGE');
    else if (type === 'entity.parse.failed') e = new GatewayError('BAD_BODY', 'the body is not valid JSON');
    else if (type === 'charset.unsupported' || type === 'encoding.unsupported')
      e = new GatewayError('UNSUPPORTED_MEDIA_TYPE', 'send the body as UTF-8 JSON, without Content-Encoding');
    // Any other body-parser refusal (aborted upload, bad length...) is the client's, not a 500.
    else if (typeof type === 'string' && typeof status === 'number' && status >= 400 && status < 500)
      e = new GatewayError('BAD_BODY', 'the request body could not be read');
    else e = toGatewayError(err);
    if (e.code === 'INTERNAL') logger.error({ err, path: safePath(req.originalUrl) }, 'unhandled error');
    sendError(res, e, req.method);
  };
}
