import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Selection } from '../cache/selection.ts';
import type { ErrorCode } from '../errors.ts';
import { streamEnded, streamStarted } from '../http/connection-guard.ts';
import { gatewayErrorEvent } from '../protocol/events.ts';
import type { SharedChunk } from './shared-chunk.ts';

/** How long an ended stream may take to hand its last bytes to the kernel before it is destroyed. */
export const END_GRACE_MS = 2000;

/** One framed event as a slow client may need to queue it. */
export interface FramedEvent {
  /** Table events conflate on this key (newest value per key wins); null: never conflated. */
  readonly conflationKey: string | null;
  readonly text: string;
}

export interface SubscriberHooks {
  /** Called once when the stream ends for any reason. */
  onClose(sub: Subscriber): void;
  onConflated(count: number): void;
  onSlowDisconnect(): void;
}

/**
 * The I/O edge of one SSE client. Slow-client policy (explicit, per docs/protocol.md):
 * - while the socket accepts writes, each batch is written at once, whatever its size (a burst
 *   larger than the limit must not cut a client that reads fast);
 * - when `write()` returns false the client is paused: events queue in a map where table
 *   updates conflate to the newest value per key; `drain` flushes the queue in one write;
 * - once the queue holds more than `maxBufferedBytes`, the client is sent a final `error` event
 *   with code SLOW_CONSUMER and disconnected. So a client costs the process at most one write in
 *   flight (the initial write, one batch or one queue flush) plus `maxBufferedBytes` of queue:
 *   one that never reads cannot grow memory or delay anyone else.
 */
export class Subscriber {
  private paused = false;
  private closed = false;
  private pending: Map<string | number, string> | null = null;
  private pendingBytes = 0;
  private seq = 0;
  /** Shared chunks go straight to the socket once the head is out (null: through `res.write`). */
  private readonly socket: Socket | null;
  /** Whether the response uses chunked transfer encoding (HTTP/1.1) or raw bytes (HTTP/1.0). */
  private readonly chunkedWire: boolean;
  /**
   * The connection the response is on, and whether the response metrics handed the counting
   * of this stream over to it (gateway/observability/http-metrics.ts `OwnedResponse`).
   */
  readonly conn: Socket | null;
  counted = false;
  /**
   * The socket the request came on. The stream lives exactly as long as it: a response queued
   * behind another one on a pipelined connection has no socket of its own yet and never gets a
   * `close` event, but its request's socket does (gateway/http/connection-guard.ts).
   */
  private readonly wire: Socket;
  /** Made on the first pause: an idle stream carries neither the listener nor the function. */
  private onDrain: (() => void) | null = null;
  private readonly onClose: () => void;

  constructor(
    readonly res: ServerResponse,
    readonly selection: Selection,
    private readonly maxBufferedBytes: number,
    private readonly hooks: SubscriberHooks,
    /** Client address, for per-IP accounting. */
    readonly ip: string,
    /** The kit's client id (`?clientId=`), for rollout control events; null when absent or malformed. */
    readonly clientId: string | null = null,
  ) {
    this.onClose = Subscriber.listener(this, 'close');
    this.wire = res.req.socket;
    this.wire.on('close', this.onClose);
    streamStarted(this.wire);
    // Not for HEAD (no body may follow) nor a response not yet on its socket (pipelining).
    const sock = res.headersSent && res.req?.method !== 'HEAD' ? res.socket : null;
    this.socket = sock && !sock.destroyed ? sock : null;
    this.chunkedWire = res.chunkedEncoding === true;
    this.conn = res.socket;
  }

  /**
   * Where `drain` is heard: raw writes fill the socket without the response knowing, so its
   * 'drain' would not fire; the socket's fires for those and for res.write alike (it writes to
   * the same socket). Listened to only while paused: an idle stream carries no drain listener.
   */
  private get drainSource(): NodeJS.EventEmitter {
    return this.socket ?? this.res;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The first write (retry hint, snapshot or replay): a write in flight, like any batch. */
  writeInitial(chunk: string): void {
    if (!this.res.write(chunk)) this.pause();
  }

  /** Writes a batch: `chunk` is the concatenation of `events`, shared by every client of the selection. */
  send(chunk: string | SharedChunk, events: readonly FramedEvent[]): void {
    if (this.closed) return;
    if (!this.paused) {
      if (!this.write(chunk)) this.pause();
      return;
    }
    this.pending ??= new Map();
    let conflated = 0;
    for (const ev of events) {
      const key = ev.conflationKey ?? this.seq++;
      const old = this.pending.get(key);
      if (old !== undefined) {
        this.pending.delete(key);
        this.pendingBytes -= Buffer.byteLength(old);
        conflated++;
      }
      this.pending.set(key, ev.text);
      this.pendingBytes += Buffer.byteLength(ev.text);
    }
    if (conflated > 0) this.hooks.onConflated(conflated);
    if (this.pendingBytes > this.maxBufferedBytes) this.disconnectSlow();
  }

  /** Heartbeats and control events: skipped while paused (a paused client is not idle). */
  sendIfIdle(chunk: string | SharedChunk): void {
    if (!this.closed && !this.paused && !this.write(chunk)) this.pause();
  }

  /** One write: a shared chunk's bytes (framed once for all clients) go to the socket directly. */
  private write(chunk: string | SharedChunk): boolean {
    if (typeof chunk === 'string') return this.res.write(chunk);
    const sock = this.socket;
    if (sock === null) return this.res.write(chunk.text);
    // A socket that is going away: its close hook ends this subscriber.
    if (!sock.writable) return true;
    return sock.write(this.chunkedWire ? chunk.chunked : chunk.bytes);
  }

  /** Ends the stream with a final event (e.g. shutdown or error) and closes it. */
  end(finalChunk = ''): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = null;
    if (this.onDrain) this.drainSource.off('drain', this.onDrain);
    // The connection outlives the stream (keep-alive): it stops being a stream's.
    this.wire.off('close', this.onClose);
    streamEnded(this.wire);
    this.res.end(finalChunk);
    // A client that never reads would keep the socket (and its buffer) forever: cut it, unless
    // everything (the final event included) reached the kernel by then ('finish').
    if (this.res.writableLength > 0) {
      const cut = setTimeout(() => this.res.destroy(), END_GRACE_MS).unref();
      this.res.once('finish', () => clearTimeout(cut));
    }
    this.hooks.onClose(this);
  }

  /** Ends the stream with a `gateway-error` event carrying a catalogue code. */
  fail(code: ErrorCode, message: string): void {
    this.end(gatewayErrorEvent({ code, message }));
  }

  private disconnectSlow(): void {
    this.hooks.onSlowDisconnect();
    this.fail('SLOW_CONSUMER', `more than ${this.maxBufferedBytes} bytes waited for this client`);
  }

  /**
   * A `drain` or `close` listener of one subscriber. Anonymous on purpose: a named function
   * (a class-field arrow) gets its `name` defined as an own property under tsx (esbuild
   * keepNames), which gives each function a property store of its own: 0.25 KB per function.
   */
  private static listener(sub: Subscriber, event: 'drain' | 'close'): () => void {
    return event === 'drain' ? () => sub.drained() : () => sub.peerClosed();
  }

  /** The socket is full: queue from now on, until it drains. */
  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.onDrain ??= Subscriber.listener(this, 'drain');
    this.drainSource.on('drain', this.onDrain);
  }

  private drained(): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    if (this.onDrain) this.drainSource.off('drain', this.onDrain);
    if (this.pending && this.pending.size > 0) {
      let chunk = '';
      for (const text of this.pending.values()) chunk += text;
      this.pending.clear();
      this.pendingBytes = 0;
      if (!this.res.write(chunk)) this.pause();
    }
  }

  private peerClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = null;
    if (this.onDrain) this.drainSource.off('drain', this.onDrain);
    streamEnded(this.wire);
    this.hooks.onClose(this);
  }
}
