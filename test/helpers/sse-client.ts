/**
 * Test helpers for talking to a gateway over real sockets:
 * - {@link listen}: starts an app (any request listener) on 127.0.0.1, port 0, and tracks its
 *   sockets so teardown can destroy open streams instead of hanging the suite;
 * - {@link openSse}: a real HTTP SSE connection (node:http) parsed with eventsource-parser,
 *   exposing an awaitable queue of events (`next()`, `waitFor()`) and `close()`;
 * - {@link httpGet} and {@link httpRequest}: a plain request returning status, headers and the raw body.
 *
 * Waits are event-driven; every wait has a generous guard timeout that fails the test with what
 * was received so far, so a bug shows up as a clear failure rather than a hung run.
 */
import { once } from 'node:events';
import {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestListener,
  request,
  type Server,
} from 'node:http';
import type { Socket } from 'node:net';
import { createParser } from 'eventsource-parser';
import { createHttpServer } from '../../gateway/http/server.ts';

/** Guard timeout of every wait: fails the test instead of hanging it. */
export const WAIT_GUARD_MS = 15_000;

/** Something registering teardown callbacks (node:test's `t` or a suite context). */
export interface Teardown {
  after(fn: () => unknown): void;
}

export interface TestServer {
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** Sockets currently open on the server. */
  readonly sockets: ReadonlySet<Socket>;
  /** Destroys every open socket and closes the server; idempotent. */
  close(): Promise<void>;
}

/**
 * Starts `app` on 127.0.0.1 port 0 in the production server (createHttpServer: its timeouts and
 * JSON answers to malformed requests); closed (sockets destroyed) on `t.after` when given.
 */
export function listen(app: RequestListener, t?: Teardown): Promise<TestServer> {
  return listenServer(createHttpServer(app), t);
}

/**
 * Starts an already built `server` on 127.0.0.1 port 0 with its sockets tracked, so `close()`
 * can destroy open streams; closed on `t.after` when given.
 */
export async function listenServer(server: Server, t?: Teardown): Promise<TestServer> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
  let closing: Promise<void> | null = null;
  const ts: TestServer = {
    server,
    port: addr.port,
    url: `http://127.0.0.1:${addr.port}`,
    sockets,
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      });
      return closing;
    },
  };
  t?.after(() => ts.close());
  return ts;
}

/** One item of an event stream, in arrival order. */
export type SseItem =
  | { kind: 'event'; event: string | undefined; id: string | undefined; data: string }
  | { kind: 'comment'; text: string }
  | { kind: 'retry'; ms: number };

export type SseEventItem = Extract<SseItem, { kind: 'event' }>;

/** An open SSE response, parsed as it arrives. */
export class SseConnection {
  /** Every item received so far, consumed or not. */
  readonly received: SseItem[] = [];
  /** Raw text received so far (decoded as UTF-8). */
  raw = '';
  private readonly queue: SseItem[] = [];
  private readonly waiters: Array<() => void> = [];
  private ended = false;
  /** Resolves when the response ended or the socket closed. */
  readonly closed: Promise<void>;

  constructor(
    readonly res: IncomingMessage,
    private readonly label: string,
  ) {
    const parser = createParser({
      onEvent: (e) => this.push({ kind: 'event', event: e.event, id: e.id, data: e.data }),
      onComment: (text) => this.push({ kind: 'comment', text }),
      onRetry: (ms) => this.push({ kind: 'retry', ms }),
    });
    const decoder = new TextDecoder();
    res.on('data', (chunk: Buffer) => {
      const text = decoder.decode(chunk, { stream: true });
      this.raw += text;
      parser.feed(text);
    });
    this.closed = new Promise<void>((resolve) => {
      const done = (): void => {
        if (this.ended) return;
        this.ended = true;
        for (const w of this.waiters.splice(0)) w();
        resolve();
      };
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
  }

  get status(): number {
    return this.res.statusCode ?? 0;
  }

  get headers(): IncomingHttpHeaders {
    return this.res.headers;
  }

  /** Whether the stream has ended. */
  get isClosed(): boolean {
    return this.ended;
  }

  /** Items received but not yet consumed by next()/waitFor(). */
  get pending(): readonly SseItem[] {
    return this.queue;
  }

  /** The next item (event, comment or retry), in order. Rejects if the stream ends first. */
  async next(timeoutMs = WAIT_GUARD_MS): Promise<SseItem> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = this.queue.shift();
      if (item !== undefined) return item;
      if (this.ended) throw new Error(`${this.label}: stream ended; received ${this.describe()}`);
      await this.arrival(deadline);
    }
  }

  /** The next `event` item, skipping comments and retry hints. */
  async nextEvent(timeoutMs = WAIT_GUARD_MS): Promise<SseEventItem> {
    return (await this.waitFor((i) => i.kind === 'event', timeoutMs)) as SseEventItem;
  }

  /** Consumes items until one matches; returns it. */
  async waitFor(pred: (item: SseItem) => boolean, timeoutMs = WAIT_GUARD_MS): Promise<SseItem> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = await this.next(Math.max(1, deadline - Date.now()));
      if (pred(item)) return item;
    }
  }

  /** Consumes `count` events (skipping comments and retry hints). */
  async takeEvents(count: number, timeoutMs = WAIT_GUARD_MS): Promise<SseEventItem[]> {
    const out: SseEventItem[] = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < count) out.push(await this.nextEvent(Math.max(1, deadline - Date.now())));
    return out;
  }

  /**
   * Consumes items until `count` `update` events arrived, skipping every other item; each
   * update may take up to `timeoutMs`.
   */
  async takeUpdates(count: number, timeoutMs = WAIT_GUARD_MS): Promise<SseEventItem[]> {
    const out: SseEventItem[] = [];
    while (out.length < count)
      out.push(
        (await this.waitFor((i) => i.kind === 'event' && i.event === 'update', timeoutMs)) as SseEventItem,
      );
    return out;
  }

  /** Stops reading from the socket (TCP backpressure reaches the server). */
  pause(): void {
    this.res.pause();
  }

  resume(): void {
    this.res.resume();
  }

  /** Destroys the connection. */
  close(): void {
    this.res.destroy();
    this.res.socket?.destroy();
  }

  private push(item: SseItem): void {
    this.received.push(item);
    this.queue.push(item);
    for (const w of this.waiters.splice(0)) w();
  }

  private arrival(deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => {
          const i = this.waiters.indexOf(wake);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new Error(`${this.label}: nothing matching arrived; received ${this.describe()}`));
        },
        Math.max(1, deadline - Date.now()),
      );
      const wake = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push(wake);
    });
  }

  private describe(): string {
    const tail = this.received.slice(-5).map((i) => JSON.stringify(i).slice(0, 200));
    return `${this.received.length} items; last: ${tail.join(' | ') || '(none)'}`;
  }
}

export interface OpenOptions {
  headers?: Record<string, string>;
  /** Closed on `t.after` when given. */
  t?: Teardown;
}

/**
 * Opens `GET url` and resolves once response headers arrived. The caller checks `status`: a
 * non-200 answer is still returned (its body can be read with {@link readText}).
 */
export async function openSse(url: string, opts: OpenOptions = {}): Promise<SseConnection> {
  const req = request(url, { headers: { accept: 'text/event-stream', ...opts.headers }, agent: false });
  req.end();
  const timer = setTimeout(() => req.destroy(new Error(`no response headers from ${url}`)), WAIT_GUARD_MS);
  try {
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    const conn = new SseConnection(res, `SSE ${new URL(url).pathname}${new URL(url).search}`);
    opts.t?.after(() => conn.close());
    return conn;
  } finally {
    clearTimeout(timer);
  }
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  /** Raw body bytes (not decompressed). */
  body: Buffer;
  /** The body as UTF-8 text. */
  text: string;
}

/** A plain GET on a fresh connection; the whole body is read (raw bytes, no decompression). */
export function httpGet(url: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  return httpRequest(url, { headers });
}

/** What {@link httpRequest} sends; a GET with no headers and no body by default. */
export interface HttpRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}

/**
 * One request on a fresh connection; the whole body is read (raw bytes, no decompression).
 * Fails after {@link WAIT_GUARD_MS} without a response.
 */
export async function httpRequest(url: string, opts: HttpRequestOptions = {}): Promise<HttpResult> {
  const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false });
  req.end(opts.body);
  const timer = setTimeout(() => req.destroy(new Error(`no response from ${url}`)), WAIT_GUARD_MS);
  try {
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    return { status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') };
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the rest of a response as text (for a non-200 answer from {@link openSse}). */
export async function readText(conn: SseConnection): Promise<string> {
  await conn.closed;
  return conn.raw;
}
