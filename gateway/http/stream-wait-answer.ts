import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorCode, GatewayError } from '../errors.ts';
import { gatewayErrorEvent } from '../protocol/events.ts';
import { SSE_HEADER_LIST } from '../protocol/sse-headers.ts';
import { jitteredRetryMs } from '../util/backoff.ts';

/**
 * Refusals a stream client should wait out and retry, never fatal: an `EventSource` that gets any
 * non-200 status stops reconnecting for good (WHATWG HTML, "fail the connection").
 */
export const STREAM_WAIT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'SHUTTING_DOWN',
  'OVERLOADED',
  'NOT_READY',
  'RATE_LIMITED',
  'TOO_MANY_STREAMS_PER_CLIENT',
]);

/**
 * The `reason` label of `switchyard_sse_wait_answers_total` for a wait code: the code in lower
 * case (`shutting_down`, `overloaded`, `not_ready`, `rate_limited`, `too_many_streams_per_client`).
 */
export function waitReason(code: ErrorCode): string {
  return code.toLowerCase();
}

/**
 * Request header an edge proxy sets to say "answer refusals with their HTTP status: I retry them
 * on another instance and turn what is left into a stream answer myself" (the shipped NGINX
 * template sets `X-Switchyard-Edge: failover` on /v1/stream). Without it a refused stream client
 * gets the 200 answer below, since nothing in between would retry for it.
 */
export const EDGE_HEADER = 'x-switchyard-edge';

/** Whether the client asked for an event stream (`EventSource` always sends this Accept). */
export function wantsEventStream(accept: string | string[] | undefined): boolean {
  return typeof accept === 'string' && accept.toLowerCase().includes('text/event-stream');
}

/** Whether the edge in front retries refusals itself (see {@link EDGE_HEADER}). */
export function edgeFailsOver(value: string | string[] | undefined): boolean {
  return value === 'failover';
}

/** Whether a refusal of this request is answered as a 200 stream that tells the client to retry. */
export function answersAsStream(req: IncomingMessage, e: GatewayError): boolean {
  return (
    STREAM_WAIT_CODES.has(e.code) &&
    wantsEventStream(req.headers.accept) &&
    !edgeFailsOver(req.headers[EDGE_HEADER])
  );
}

/**
 * The retry delay for a refusal: its Retry-After (already jittered, whole seconds) spread over
 * [0.5, 1.5) x, or `fallbackMs` spread the same way when it has none.
 */
export function retryMsFor(e: GatewayError, fallbackMs: number, random: () => number): number {
  const base = e.retryAfterSeconds === undefined ? fallbackMs : e.retryAfterSeconds * 1000;
  return jitteredRetryMs(base, random);
}

/**
 * Answers a refused stream request with `200 text/event-stream`: a `retry:` and one
 * `gateway-error` event `{code, message, reconnect: true, retryMs}`, then the end of the
 * response. Every spec-following client reconnects after `retry` with its Last-Event-ID.
 */
export function sendStreamRetry(
  res: ServerResponse,
  e: GatewayError,
  retryMs: number,
  headers: readonly string[],
  method: string | undefined,
): void {
  res.writeHead(200, [...SSE_HEADER_LIST, ...headers]);
  if (method === 'HEAD') {
    res.end();
    return;
  }
  res.end(gatewayErrorEvent({ code: e.code, message: e.message, reconnect: true, retryMs }, retryMs));
}
