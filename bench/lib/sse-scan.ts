/**
 * A cheap but spec-following reader of one SSE response on a raw socket: HTTP/1.x status and
 * headers, chunked transfer decoding, then the event stream (WHATWG "Interpreting an event
 * stream": events end at a blank line; LF, CRLF and CR all end lines). For each event it finds
 * the event type and, for updates, the first `"createdAt":<digits>` of its data by scanning
 * bytes: no strings and no JSON.parse per event, so the load generator stays cheap.
 */

/** What the scanner reports; one sink is usually shared by every connection of a process. */
export interface ScanSink {
  /** An `update` event, or an unnamed (`message`) event: createdAt in epoch ms, -1 if absent. */
  update(createdAt: number): void;
  /** Any other event with data: `snapshot`, `error` (e.g. SLOW_CONSUMER) or anything else. */
  event(kind: 'snapshot' | 'error' | 'other'): void;
  /** A block without data (heartbeat comments, retry-only blocks). */
  comment(): void;
}

const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;
const LFLF = Buffer.from('\n\n');
const CREATED = Buffer.from('"createdAt":');
const DATA = Buffer.from('data');
const EVENT = Buffer.from('event');
const NAMES = {
  update: Buffer.from('update'),
  message: Buffer.from('message'),
  snapshot: Buffer.from('snapshot'),
  error: Buffer.from('error'),
  gatewayError: Buffer.from('gateway-error'),
};
const HEAD_END = Buffer.from('\r\n\r\n');
const CHUNKED = /\r\ntransfer-encoding:[ \t]*chunked/i;
const MAX_HEAD = 16 * 1024;

enum Stage {
  Head,
  Body,
  Done,
}
enum Chunk {
  Size,
  Ext,
  Data,
  DataEnd,
}

function matchAt(buf: Buffer, pos: number, end: number, word: Buffer): boolean {
  if (end - pos < word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[pos + i] !== word[i]) return false;
  return true;
}

/** `field` or `field:` at pos; returns where the value starts (after one optional space), else -1. */
function fieldValue(buf: Buffer, pos: number, lineEnd: number, name: Buffer): number {
  if (!matchAt(buf, pos, lineEnd, name)) return -1;
  let p = pos + name.length;
  if (p === lineEnd) return p;
  if (buf[p] !== COLON) return -1;
  p++;
  if (p < lineEnd && buf[p] === SPACE) p++;
  return p;
}

/** Replaces CRLF and lone CR by LF (the rare slow path; our servers all send LF). */
function normaliseCr(buf: Buffer): Buffer {
  const out = Buffer.allocUnsafe(buf.length);
  let n = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === CR) {
      out[n++] = LF;
      if (buf[i + 1] === LF) i++;
    } else out[n++] = c;
  }
  return out.subarray(0, n);
}

export class SseResponseScanner {
  /** HTTP status, 0 until the head arrived. */
  status = 0;
  private stage = Stage.Head;
  private head: Buffer | null = null;
  private chunked = false;
  private cstate = Chunk.Size;
  private csize = 0;
  private remaining = 0;
  private carry: Buffer | null = null;
  private skipLf = false;

  constructor(private readonly sink: ScanSink) {}

  /** True once the response ended (last chunk) or failed to parse. */
  get done(): boolean {
    return this.stage === Stage.Done;
  }

  /** Feeds bytes from the socket. Returns false once the head is complete and not a 200. */
  push(buf: Buffer): boolean {
    if (this.stage === Stage.Body) {
      if (this.chunked) this.dechunk(buf, 0);
      else this.events(buf);
      return true;
    }
    if (this.stage === Stage.Done) return this.status === 200;
    const all = this.head ? Buffer.concat([this.head, buf]) : buf;
    const end = all.indexOf(HEAD_END);
    if (end < 0) {
      if (all.length > MAX_HEAD) this.stage = Stage.Done;
      else this.head = Buffer.from(all);
      return true;
    }
    this.head = null;
    const text = all.toString('latin1', 0, end + 2);
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    this.status = m ? Number(m[1]) : -1;
    if (this.status !== 200) {
      this.stage = Stage.Done;
      return false;
    }
    this.chunked = CHUNKED.test(text);
    this.stage = Stage.Body;
    if (end + 4 < all.length) {
      if (this.chunked) this.dechunk(all, end + 4);
      else this.events(all.subarray(end + 4));
    }
    return true;
  }

  private dechunk(buf: Buffer, from: number): void {
    let i = from;
    const len = buf.length;
    while (i < len) {
      switch (this.cstate) {
        case Chunk.Size: {
          const c = buf[i++]!;
          if (c === LF) {
            if (this.csize === 0) {
              // Last chunk: the response is over (trailers are ignored).
              this.stage = Stage.Done;
              return;
            }
            this.remaining = this.csize;
            this.csize = 0;
            this.cstate = Chunk.Data;
          } else if (c === 59 /* ; */) this.cstate = Chunk.Ext;
          else if (c !== CR) {
            const d = c <= 57 ? c - 48 : (c | 0x20) - 87;
            this.csize = this.csize * 16 + d;
          }
          break;
        }
        case Chunk.Ext: {
          const nl = buf.indexOf(LF, i);
          if (nl < 0) return;
          i = nl;
          this.cstate = Chunk.Size;
          break;
        }
        case Chunk.Data: {
          const n = Math.min(this.remaining, len - i);
          this.events(buf.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0) this.cstate = Chunk.DataEnd;
          break;
        }
        case Chunk.DataEnd: {
          if (buf[i++] === LF) this.cstate = Chunk.Size;
          break;
        }
      }
    }
  }

  /** Splits the event stream into blocks at blank lines; an incomplete tail waits in `carry`. */
  private events(p: Buffer): void {
    let fresh = p;
    if (this.skipLf) {
      // The previous packet ended in CR: an LF right after it is the second half of a CRLF.
      this.skipLf = false;
      if (fresh[0] === LF) fresh = fresh.subarray(1);
    }
    if (fresh.indexOf(CR) >= 0) {
      this.skipLf = fresh[fresh.length - 1] === CR;
      fresh = normaliseCr(fresh);
    }
    let buf = fresh;
    if (this.carry) {
      buf = Buffer.concat([this.carry, fresh]);
      this.carry = null;
    }
    let start = 0;
    for (;;) {
      const end = buf.indexOf(LFLF, start);
      if (end < 0) break;
      this.block(buf, start, end + 1);
      start = end + 2;
    }
    if (start < buf.length) this.carry = Buffer.from(buf.subarray(start));
  }

  /** One event: lines in [s, e), each ending in LF. */
  private block(buf: Buffer, s: number, e: number): void {
    let dataStart = -1;
    let dataEnd = -1;
    let kind: 'update' | 'snapshot' | 'error' | 'other' = 'update';
    let pos = s;
    while (pos < e) {
      let lineEnd = buf.indexOf(LF, pos);
      if (lineEnd < 0 || lineEnd > e) lineEnd = e;
      const c = buf[pos];
      if (c === 0x64 /* d */) {
        const v = fieldValue(buf, pos, lineEnd, DATA);
        if (v >= 0) {
          if (dataStart < 0) dataStart = v;
          dataEnd = lineEnd;
        }
      } else if (c === 0x65 /* e */) {
        const v = fieldValue(buf, pos, lineEnd, EVENT);
        if (v >= 0) kind = eventKind(buf, v, lineEnd);
      }
      pos = lineEnd + 1;
    }
    if (dataStart < 0) {
      this.sink.comment();
      return;
    }
    if (kind !== 'update') {
      this.sink.event(kind);
      return;
    }
    this.sink.update(readCreatedAt(buf, dataStart, dataEnd));
  }
}

function eventKind(buf: Buffer, v: number, lineEnd: number): 'update' | 'snapshot' | 'error' | 'other' {
  const n = lineEnd - v;
  if (n === 6 && matchAt(buf, v, lineEnd, NAMES.update)) return 'update';
  if (n === 7 && matchAt(buf, v, lineEnd, NAMES.message)) return 'update';
  if (n === 8 && matchAt(buf, v, lineEnd, NAMES.snapshot)) return 'snapshot';
  if (n === 5 && matchAt(buf, v, lineEnd, NAMES.error)) return 'error';
  if (n === 13 && matchAt(buf, v, lineEnd, NAMES.gatewayError)) return 'error';
  return 'other';
}

/** The integer after the first `"createdAt":` in [from, to), or -1. */
export function readCreatedAt(buf: Buffer, from: number, to: number): number {
  const at = buf.indexOf(CREATED, from);
  if (at < 0 || at >= to) return -1;
  let i = at + CREATED.length;
  while (buf[i] === SPACE) i++;
  let v = 0;
  let digits = 0;
  for (; i < to; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) break;
    v = v * 10 + (c - 48);
    digits++;
  }
  return digits > 0 ? v : -1;
}
