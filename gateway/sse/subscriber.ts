import type { ServerResponse } from 'node:http';
import type { Selection } from '../cache/selection.ts';
import type { ErrorCode } from '../errors.ts';
import { encodeJsonEvent } from './encoder.ts';

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
 * - while the socket accepts writes, each batch is written at once;
 * - when `write()` returns false the client is paused: events queue in a bounded map where
 *   table updates conflate to the newest value per key; `drain` flushes the queue in one write;
 * - past `maxBufferedBytes` (socket buffer + queue, beyond the initial snapshot) the client is
 *   sent a final `error` event with code SLOW_CONSUMER and disconnected, so one client that never
 *   reads cannot grow the process's memory or delay anyone else.
 */
export class Subscriber {
  private paused = false;
  private closed = false;
  private pending: Map<string | number, string> | null = null;
  private pendingBytes = 0;
  private seq = 0;
  /** Bytes of the initial snapshot, which do not count against the slow-client limit. */
  private slack = 0;

  constructor(
    readonly res: ServerResponse,
    readonly selection: Selection,
    private readonly maxBufferedBytes: number,
    private readonly hooks: SubscriberHooks,
    /** Client address, for per-IP accounting. */
    readonly ip: string,
  ) {
    res.on('drain', this.onDrain);
    res.on('close', this.onClose);
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** The first write (retry hint, snapshot or replay): its size is exempt from the limit. */
  writeInitial(chunk: string): void {
    this.slack = Buffer.byteLength(chunk);
    if (!this.res.write(chunk)) this.paused = true;
  }

  /** Writes a batch: `chunk` is the concatenation of `events`, shared by every client of the selection. */
  send(chunk: string, events: readonly FramedEvent[]): void {
    if (this.closed) return;
    if (!this.paused) {
      if (!this.res.write(chunk)) this.paused = true;
      if (this.res.writableLength > this.maxBufferedBytes + this.slack) this.disconnectSlow();
      return;
    }
    this.pending ??= new Map();
    let conflated = 0;
    for (const ev of events) {
      const key = ev.conflationKey ?? this.seq++;
      const old = this.pending.get(key);
      if (old !== undefined) {
        this.pending.delete(key);
        this.pendingBytes -= old.length;
        conflated++;
      }
      this.pending.set(key, ev.text);
      this.pendingBytes += ev.text.length;
    }
    if (conflated > 0) this.hooks.onConflated(conflated);
    if (this.res.writableLength + this.pendingBytes > this.maxBufferedBytes + this.slack)
      this.disconnectSlow();
  }

  /** Heartbeats and control events: skipped while paused (a paused client is not idle). */
  sendIfIdle(chunk: string): void {
    if (!this.closed && !this.paused) this.res.write(chunk);
  }

  /** Ends the stream with a final event (e.g. shutdown or error) and closes it. */
  end(finalChunk = ''): void {
    if (this.closed) return;
    this.closed = true;
    this.pending = null;
    this.res.end(finalChunk);
    // A client that never reads would keep the socket (and its buffer) forever: cut it.
    if (this.res.writableLength > 0) setTimeout(() => this.res.destroy(), 2000).unref();
    this.hooks.onClose(this);
  }

  /** Ends the stream with an `error` event carrying a catalogue code. */
  fail(code: ErrorCode, message: string): void {
    this.end(encodeJsonEvent('error', undefined, JSON.stringify({ code, message })));
  }

  private disconnectSlow(): void {
    this.hooks.onSlowDisconnect();
    this.fail('SLOW_CONSUMER', `more than ${this.maxBufferedBytes} bytes waited for this client`);
  }

  private readonly onDrain = (): void => {
    if (this.closed) return;
    this.paused = false;
    if (this.pending && this.pending.size > 0) {
      let chunk = '';
      for (const text of this.pending.values()) chunk += text;
      this.pending.clear();
      this.pendingBytes = 0;
      if (!this.res.write(chunk)) this.paused = true;
    }
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.pending = null;
    this.hooks.onClose(this);
  };
}
