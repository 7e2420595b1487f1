import type { ErrorRequestHandler, RequestHandler } from 'express';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { answerError } from './send-error.ts';

/** 404 in the catalogue's JSON shape. */
export const notFound: RequestHandler = (_req, _res, next) => next(new GatewayError('NOT_FOUND'));

/**
 * The express end of the one error path (send-error.ts `answerError`): catalogue errors become
 * their status and JSON body; what express and its body parsers throw at a malformed request
 * is the client's, logged at warn without a stack (issue 16: anyone could make the gateway
 * answer 500 and log errors with stacks, before any auth check); anything else is logged and
 * answered as INTERNAL without details. The pipeline set the common headers already.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => answerError(logger, req, res, err);
}
