/**
 * Response headers of every event stream, frozen. `no-transform` and `X-Accel-Buffering: no`
 * keep CDNs, compression middleware and NGINX from buffering the stream (docs/protocol.md).
 */
const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
});

/** The same headers as a flat `[name, value, ...]` list, for one `writeHead`. */
export const SSE_HEADER_LIST: readonly string[] = Object.freeze(Object.entries(SSE_HEADERS).flat());

/**
 * Whether an `Accept` header admits `text/event-stream` (RFC 9110 12.5.1): absent or empty
 * admits anything; otherwise the most specific matching range (`text/event-stream`, `text/*`,
 * `*\/*`) decides, and `q=0` refuses. EventSource sends `text/event-stream`, curl `*\/*`;
 * `application/json` alone is a client that wants the snapshot (406 NOT_ACCEPTABLE).
 */
export function acceptsEventStream(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  let best = -1;
  let q = 0;
  for (const range of accept.slice(0, 1024).split(',')) {
    const [type = '', ...params] = range.split(';');
    const t = type.trim().toLowerCase();
    const rank = t === 'text/event-stream' ? 2 : t === 'text/*' ? 1 : t === '*/*' ? 0 : -1;
    if (rank <= best) continue;
    best = rank;
    q = 1;
    for (const p of params) {
      const [k, v] = p.split('=');
      if (k?.trim().toLowerCase() === 'q') q = Number(v?.trim());
    }
  }
  return best >= 0 && q > 0;
}
