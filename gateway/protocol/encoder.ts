/**
 * The one SSE encoder. Everything Switchyard writes on a stream goes through these functions,
 * so no value can forge a field or an event: per the WHATWG spec (9.2.6 "Interpreting an event
 * stream") CR, LF and CRLF all end a line, so data is split on each of them and every piece gets
 * its own `data:` line; event names and ids are single-line tokens and are rejected otherwise.
 */

/** Any of the three SSE line terminators. */
const LINE_BREAK = /\r\n|\r|\n/;
const HAS_LINE_BREAK = /[\r\n]/;

export interface SseEvent {
  /** Event type; omitted means the default `message`. Must not contain CR, LF or NUL. */
  event?: string;
  /** Event id; the client echoes it as Last-Event-ID. Must not contain CR, LF or NUL (spec: NUL voids it). */
  id?: string;
  /** Payload; may contain any text, line breaks included. */
  data: string;
  /** Reconnection delay hint in ms (a non-negative integer). */
  retry?: number;
}

/** Thrown when a single-line field would carry a line break (a forged field) or a NUL. */
export class SseEncodingError extends Error {
  constructor(field: string) {
    super(`SSE ${field} must not contain CR, LF or NUL`);
    this.name = 'SseEncodingError';
  }
}

function assertToken(field: string, value: string): void {
  if (HAS_LINE_BREAK.test(value) || value.includes('\0')) throw new SseEncodingError(field);
}

/** Encodes one event, terminated by the blank line that dispatches it. */
export function encodeEvent(ev: SseEvent): string {
  let out = '';
  if (ev.retry !== undefined) out += encodeRetry(ev.retry);
  if (ev.id !== undefined) {
    assertToken('id', ev.id);
    out += `id: ${ev.id}\n`;
  }
  if (ev.event !== undefined) {
    assertToken('event', ev.event);
    out += `event: ${ev.event}\n`;
  }
  return out + encodeData(ev.data) + '\n';
}

/**
 * Fast path for JSON payloads produced by JSON.stringify, which never emits a raw CR or LF
 * (it escapes every control character), so the data fits one `data:` line. Falls back to the
 * general encoder if that ever stops being true.
 */
export function encodeJsonEvent(event: string, id: string | undefined, json: string): string {
  if (HAS_LINE_BREAK.test(json))
    return encodeEvent({ event, data: json, ...(id === undefined ? {} : { id }) });
  assertToken('event', event);
  if (id === undefined) return `event: ${event}\ndata: ${json}\n\n`;
  assertToken('id', id);
  return `id: ${id}\nevent: ${event}\ndata: ${json}\n\n`;
}

/** `data:` lines for a payload; an empty payload still dispatches (one empty data line). */
export function encodeData(data: string): string {
  if (!HAS_LINE_BREAK.test(data)) return `data: ${data}\n`;
  let out = '';
  for (const line of data.split(LINE_BREAK)) out += `data: ${line}\n`;
  return out;
}

/** A `retry:` field; non-integers are floored, negatives rejected. */
export function encodeRetry(ms: number): string {
  // Past 2^53 a number prints as `1e+21`, which is not the digits-only value the spec requires.
  if (!Number.isFinite(ms) || ms < 0 || ms > Number.MAX_SAFE_INTEGER)
    throw new RangeError('SSE retry must be a non-negative number of ms below 2^53');
  return `retry: ${Math.floor(ms)}\n`;
}

/** A comment line (ignored by clients; used for heartbeats and padding). */
export function encodeComment(text = ''): string {
  if (!HAS_LINE_BREAK.test(text)) return `:${text}\n\n`;
  let out = '';
  for (const line of text.split(LINE_BREAK)) out += `:${line}\n`;
  return out + '\n';
}
