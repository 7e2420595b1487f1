import type { IncomingMessage, ServerResponse } from 'node:http';
import { SelectionError, type SelectionProblem } from '../cache/selection.ts';
import { type ErrorCode, GatewayError, toGatewayError } from '../errors.ts';
import { type Logger, safePath } from '../observability/logger.ts';
import type { ExchangeErrorWriter } from './pipeline.ts';
import { answersAsStream, retryMsFor, sendStreamRetry, waitReason } from './stream-wait-answer.ts';

/**
 * Writes a catalogue error as its status and JSON body (with `Retry-After` when it has one), the
 * same bytes on the express path and the node:http front door. A response whose headers are
 * already out cannot change its status: it is cut instead.
 */
export function sendError(res: ServerResponse, e: GatewayError, method: string | undefined): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(e.toJSON()), 'utf8');
  if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
  res.statusCode = e.status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(body.length));
  res.end(method === 'HEAD' ? undefined : body);
}

/** How one failed request is answered (see {@link answerError}). */
export interface ErrorAnswer {
  /** Headers every answer carries (security, CORS), flat; set before the error's own. */
  readonly headers?: readonly string[];
  /**
   * For a stream request: the retry delay (ms) of a refusal a stream client must wait out; its
   * answer is then a 200 stream with `retry:` and the reason (http/stream-wait-answer.ts).
   */
  readonly streamRetryMs?: (e: GatewayError) => number;
  /** Told the reason of every such 200 wait answer (the `switchyard_sse_wait_answers_total` count). */
  readonly onWaitAnswer?: (reason: string) => void;
}

/**
 * The one error path of the gateway, for the pipeline's checks, the front-door handlers and the
 * express error handler alike: turns what was thrown into a catalogue error (what express and
 * its body parsers throw at a malformed request is the client's, see {@link clientError};
 * anything else unknown is INTERNAL, logged with its stack, answered without details), and
 * answers it once.
 */
export function answerError(
  logger: Logger,
  req: IncomingMessage,
  res: ServerResponse,
  err: unknown,
  how: ErrorAnswer = {},
): void {
  const domain = domainError(err);
  const e = domain ?? (err instanceof GatewayError ? err : (clientError(err) ?? toGatewayError(err)));
  const path = () => safePath((req as { originalUrl?: string }).originalUrl ?? req.url ?? '');
  if (e.code === 'INTERNAL') logger.error({ err, path: path() }, 'unhandled error');
  else if (!(err instanceof GatewayError) && domain === null)
    logger.warn(
      { code: e.code, reason: String((err as Error)?.message).slice(0, 200), path: path() },
      'client error',
    );
  const headers = how.headers ?? [];
  // A stream client told to wait (draining, overloaded, limits) gets a 200 stream with a
  // retry: and the reason, not a status that would stop an EventSource for good.
  if (!res.headersSent && how.streamRetryMs !== undefined && answersAsStream(req, e)) {
    sendStreamRetry(res, e, how.streamRetryMs(e), headers, req.method);
    how.onWaitAnswer?.(waitReason(e.code));
    return;
  }
  if (!res.headersSent)
    for (let i = 0; i < headers.length; i += 2) res.setHeader(headers[i]!, headers[i + 1]!);
  sendError(res, e, req.method);
}

/** The catalogue code of each refused selection (the cache's SelectionError). */
const SELECTION_CODES: Readonly<Record<SelectionProblem, ErrorCode>> = {
  malformed: 'BAD_QUERY',
  too_long: 'BAD_QUERY',
  too_many: 'TOO_MANY_STREAMS',
  unknown_stream: 'UNKNOWN_STREAM',
};

/**
 * The catalogue error for a refusal of the core's domain (the cache's, which knows no HTTP), or
 * null: the status and code are decided here, at the transport.
 */
export function domainError(err: unknown): GatewayError | null {
  if (err instanceof SelectionError)
    return new GatewayError(SELECTION_CODES[err.problem], err.message, { details: { ...err.details } });
  return null;
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

/** What the pipeline's error writer is built from. */
export interface ExchangeErrorDeps {
  readonly logger: Logger;
  /** RETRY_MS: the `retry:` of a refused stream without a Retry-After of its own. */
  readonly retryMs: number;
  readonly random: () => number;
  /** Told the reason of every 200 wait answer to a refused stream client. */
  readonly onWaitAnswer?: (reason: string) => void;
}

/**
 * The pipeline's error writer (`errorBoundary` in pipeline.ts, and a stream that fails once
 * open): {@link answerError} with the exchange's common headers, and a stream client's
 * refusals answered as a stream it retries.
 */
export function exchangeErrors(deps: ExchangeErrorDeps): ExchangeErrorWriter {
  const streamRetryMs = (e: GatewayError) => retryMsFor(e, deps.retryMs, deps.random);
  return (ex, err) =>
    answerError(deps.logger, ex.req, ex.res, err, {
      headers: ex.headers,
      streamRetryMs: ex.served && ex.endpoint === 'stream' ? streamRetryMs : undefined,
      onWaitAnswer: deps.onWaitAnswer,
    });
}
