/**
 * The one error catalogue of Switchyard. Every client-visible failure has a stable `code`
 * (match on it, never on the message), an HTTP status used before response headers are sent,
 * and a default message. After SSE headers are sent, the same code travels in an `error` event.
 * `test/unit/core-errors.test.ts` fails when this list and docs/errors.md drift apart.
 */
export const ERROR_CATALOGUE = {
  BAD_QUERY: { status: 400, message: 'A query parameter is malformed.' },
  UNKNOWN_STREAM: { status: 400, message: 'A requested stream is not configured.' },
  TOO_MANY_STREAMS: { status: 400, message: 'Too many streams requested at once.' },
  BAD_LAST_EVENT_ID: { status: 400, message: 'The Last-Event-ID is not a Switchyard event id.' },
  BAD_BODY: { status: 400, message: 'The request body is invalid.' },
  BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    message: 'The request body has an unsupported charset or encoding.',
  },
  BAD_REQUEST: { status: 400, message: 'The HTTP request is malformed.' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time.' },
  URI_TOO_LONG: { status: 414, message: 'The request URL is too long.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large.' },
  UNAUTHORIZED: { status: 401, message: 'A valid bearer token is required.' },
  FORBIDDEN: { status: 403, message: 'The token does not allow this.' },
  TOKEN_EXPIRED: { status: 401, message: 'The access token has expired; fetch a new one.' },
  NOT_FOUND: { status: 404, message: 'No such route.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method not allowed on this route.' },
  NOT_ACCEPTABLE: { status: 406, message: 'This route only serves text/event-stream.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry later.' },
  TOO_MANY_STREAMS_PER_CLIENT: { status: 429, message: 'Too many open streams from this address.' },
  OVERLOADED: { status: 503, message: 'The gateway is at capacity; retry later.' },
  SHUTTING_DOWN: { status: 503, message: 'This instance is shutting down; reconnect elsewhere.' },
  NOT_READY: { status: 503, message: 'The snapshot has not caught up with the source yet.' },
  DATA_REPLACED: {
    status: 503,
    message: 'The data of a stream was replaced (topic re-created, other cluster); reconnect for a resync.',
  },
  SLOW_CONSUMER: { status: 503, message: 'The client read too slowly and its buffer limit was reached.' },
  UPSTREAM_UNAVAILABLE: { status: 502, message: 'The legacy backend could not be reached.' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'The legacy backend did not answer in time.' },
  INVALID_RULES: { status: 400, message: 'The submitted rules do not validate.' },
  CONTROL_UNAVAILABLE: {
    status: 503,
    message: 'The control topic could not be written; nothing changed. Retry later.',
  },
  VERSION_CONFLICT: {
    status: 409,
    message: 'The admin state changed since the version given; read it again and retry.',
  },
  INTERNAL: { status: 500, message: 'Internal error.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** An error meant for a client: carries a catalogue code, its status and optional details. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  /** Seconds for a `Retry-After` header (429/503), when the failure is transient. */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    message?: string,
    opts: { details?: Record<string, unknown>; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message ?? ERROR_CATALOGUE[code].message, { cause: opts.cause });
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code].status;
    this.details = opts.details;
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }

  /** The JSON body sent to clients: never a stack trace, never an internal path. */
  toJSON(): { error: { code: ErrorCode; message: string } & Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...(this.details ?? {}) } };
  }
}

/** Wraps anything thrown into a GatewayError; unknown errors become INTERNAL with a generic message. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError('INTERNAL', undefined, { cause: err });
}
