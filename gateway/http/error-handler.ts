import type { ErrorRequestHandler, RequestHandler } from 'express';
import { GatewayError, toGatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { safePath } from '../observability/logger.ts';
import { sendError } from './send-error.ts';

/** 404 in the catalogue's JSON shape. */
export const notFound: RequestHandler = (_req, _res, next) => next(new GatewayError('NOT_FOUND'));

/**
 * The one error handler: catalogue errors become their status and JSON body; anything else is
 * logged and answered as INTERNAL without details. What express and its body parsers throw at
 * a malformed request (a path with bad percent-encoding, a body parser's refusal) is the
 * client's: the matching catalogue code, logged at warn without a stack (issue 16: anyone could
 * make the gateway answer 500 and log errors with stacks, before any auth check).
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = err instanceof GatewayError ? err : (clientError(err) ?? toGatewayError(err));
    if (e.code === 'INTERNAL') logger.error({ err, path: safePath(req.originalUrl) }, 'unhandled error');
    else if (!(err instanceof GatewayError))
      logger.warn(
        {
          code: e.code,
          reason: String((err as Error)?.message).slice(0, 200),
          path: safePath(req.originalUrl),
        },
        'client error',
      );
    sendError(res, e, req.method);
  };
}

/**
 * The catalogue error for what express and its body parsers throw at a malformed request, or
 * null (anything else, a route's bug included, is a 500). Narrow on purpose: a body-parser
 * refusal (it carries `type` and a 4xx status) or a path parameter that is not valid
 * percent-encoding (the router's URIError, status 400).
 */
export function clientError(err: unknown): GatewayError | null {
  const o = err as { type?: unknown; status?: unknown } | null;
  if (err instanceof URIError)
    return new GatewayError('BAD_REQUEST', 'the request path is malformed (bad percent-encoding)');
  const status = o?.status;
  if (typeof o?.type !== 'string' || typeof status !== 'number' || status < 400 || status > 499) return null;
  const type = o.type;
  if (type === 'entity.too.large') return new GatewayError('BODY_TOO_LARGE');
  if (type === 'entity.parse.failed') return new GatewayError('BAD_BODY', 'the body is not valid JSON');
  if (type === 'charset.unsupported' || type === 'encoding.unsupported')
    return new GatewayError('UNSUPPORTED_MEDIA_TYPE', UTF8_ONLY);
  // Any other body-parser refusal (aborted upload, bad length...).
  return new GatewayError('BAD_BODY', 'the request body could not be read');
}

/** The message of every 415. */
export const UTF8_ONLY = 'send the body as UTF-8 JSON, without Content-Encoding';
