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
