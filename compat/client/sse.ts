import { EVENT } from '../../gateway/protocol/events.ts';
import type {
  ControlEventData,
  EventSourceConstructor,
  EventSourceLike,
  SnapshotEventData,
  UpdateEventData,
} from './types.ts';

/** EventSource.readyState once it gave up (a non-200 answer, a wrong content type...). */
const CLOSED = 2;

/** What one stream reports to the engine. `at` is the local arrival time. */
export interface StreamHandlers {
  opened(): void;
  snapshot(data: SnapshotEventData, at: number): void;
  update(data: UpdateEventData, id: string | null, at: number): void;
  control(data: ControlEventData): void;
  /** The gateway is draining: it sent a jittered `retry:` and will close; reconnecting is expected. */
  shutdown(): void;
  /** A `gateway-error` event (SLOW_CONSUMER, TOKEN_EXPIRED, SHUTTING_DOWN...); the stream ends after it. */
  serverError(code: string, message: string): void;
  /**
   * The connection failed. `gaveUp`: the EventSource will not reconnect by itself (non-200
   * answer); otherwise it reconnects after the server's `retry:` delay with Last-Event-ID.
   */
  failed(gaveUp: boolean, status: number | null): void;
}

export interface OpenStreamOptions {
  EventSource: EventSourceConstructor;
  url: string;
  withCredentials: boolean;
  /** Used by EventSource implementations that accept it (the `eventsource` package); browsers ignore it. */
  fetch?: typeof fetch;
  now: () => number;
}

/**
 * Opens one EventSource and turns its events into typed calls. Malformed event data is
 * reported as a server error, never thrown. `close()` is idempotent and silences the handlers.
 */
export function openStream(opts: OpenStreamOptions, h: StreamHandlers): { close(): void } {
  const init: { withCredentials?: boolean; fetch?: typeof fetch } = { withCredentials: opts.withCredentials };
  if (opts.fetch) init.fetch = opts.fetch;
  const es: EventSourceLike = new opts.EventSource(opts.url, init);
  let closed = false;
  const parse = <T>(ev: Event): T | undefined => {
    try {
      return JSON.parse((ev as MessageEvent).data as string) as T;
    } catch {
      h.serverError('BAD_EVENT', `unreadable ${ev.type} event`);
      return undefined;
    }
  };
  es.addEventListener('open', () => {
    if (!closed) h.opened();
  });
  es.addEventListener(EVENT.snapshot, (ev) => {
    if (closed) return;
    const at = opts.now();
    const data = parse<SnapshotEventData>(ev);
    if (data) h.snapshot(data, at);
  });
  es.addEventListener(EVENT.update, (ev) => {
    if (closed) return;
    const at = opts.now();
    const data = parse<UpdateEventData>(ev);
    const id = (ev as MessageEvent).lastEventId;
    if (data) h.update(data, typeof id === 'string' && id !== '' ? id : null, at);
  });
  es.addEventListener(EVENT.control, (ev) => {
    if (closed) return;
    const data = parse<ControlEventData>(ev);
    if (data) h.control(data);
  });
  es.addEventListener(EVENT.shutdown, () => {
    if (!closed) h.shutdown();
  });
  const serverError = (data: string): void => {
    let code = 'SERVER_ERROR';
    let message = '';
    try {
      const parsed = JSON.parse(data) as { code?: unknown; message?: unknown };
      if (typeof parsed.code === 'string') code = parsed.code;
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // keep the generic code
    }
    h.serverError(code, message);
  };
  // The gateway's reason for ending a stream (SLOW_CONSUMER...) or for asking it to come back
  // later (SHUTTING_DOWN, OVERLOADED...): the EventSource reconnects by itself after `retry:`.
  es.addEventListener(EVENT.gatewayError, (ev) => {
    if (!closed) serverError((ev as MessageEvent).data as string);
  });
  es.addEventListener('error', (ev) => {
    if (closed) return;
    // Gateways up to 0.1.0 sent their reason as an `error` event (a MessageEvent with data); a
    // connection failure is a plain event.
    const data = (ev as MessageEvent).data;
    if (typeof data === 'string') {
      serverError(data);
      return;
    }
    const status = (ev as { code?: unknown }).code;
    h.failed(es.readyState === CLOSED, typeof status === 'number' ? status : null);
  });
  return {
    close() {
      if (closed) return;
      closed = true;
      es.close();
    },
  };
}
