/**
 * One load-generator process (forked by sse-load.ts): opens SSE streams over raw TCP sockets,
 * reads them with SseResponseScanner and records creation -> arrival per update per stream in
 * a histogram. Runs in its own process so the server under test keeps its own core, and so the
 * file-descriptor limit applies per process. Talks to the controller over IPC only.
 */
import { connect, type Socket } from 'node:net';
import { Histogram } from '../lib/histogram.ts';
import { type ScanSink, SseResponseScanner } from '../lib/sse-scan.ts';
import { noneReceived, type WorkerReply, type WorkerRequest, type WorkerStats } from './worker-protocol.ts';

interface Conn {
  socket: Socket;
  scanner: SseResponseScanner;
  established: boolean;
  /** Connections of an earlier `close` generation no longer count. */
  gen: number;
  attempt: number;
  lastError: string;
  /** When its response head arrived (epoch ms); Infinity before. */
  establishedAt: number;
}

const hist = new Histogram();
let now = 0;
let t0 = Number.POSITIVE_INFINITY;
let t1 = Number.NEGATIVE_INFINITY;
/** Whether the stream being read was open when the window began (only those are expected to count). */
let inWindow = false;
const counts = noneReceived();
const sink: ScanSink = {
  update(createdAt) {
    counts.totalUpdates++;
    if (createdAt < 0) counts.noCreatedAt++;
    else if (inWindow && createdAt >= t0 && createdAt < t1) {
      counts.windowUpdates++;
      hist.record(now - createdAt);
    }
  },
  event(kind) {
    if (kind === 'snapshot') counts.snapshots++;
    else if (kind === 'error') counts.errors++;
    else counts.otherEvents++;
  },
  comment() {
    counts.comments++;
  },
};

const conns = new Set<Conn>();
/** Every stream established in this generation, closed ones included (for the window's expected count). */
let everEstablished: Conn[] = [];
let target = { host: '127.0.0.1', port: 0, path: '/' };
let request = Buffer.alloc(0);
let opened = 0;
let established = 0;
let maxEstablished = 0;
let failed = 0;
let closedByServer = 0;
let retries = 0;
let closing = false;
let gen = 0;
const failReasons = new Map<string, number>();
let rampTimer: NodeJS.Timeout | null = null;

function fail(reason: string): void {
  failed++;
  failReasons.set(reason, (failReasons.get(reason) ?? 0) + 1);
}

/**
 * One read buffer for every socket of this process (`onread`): reads allocate nothing and skip
 * the stream machinery. Safe because each read is scanned synchronously and the scanner copies
 * whatever it keeps.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
/** Like EventSource, a stream whose connection fails before its response is retried, a few times. */
const MAX_ATTEMPTS = 4;

function onRead(conn: Conn, n: number): void {
  now = Date.now();
  counts.bytes += n;
  counts.reads++;
  inWindow = conn.establishedAt <= t0;
  const ok = conn.scanner.push(READ_BUFFER.subarray(0, n));
  if (!conn.established && conn.scanner.status === 200) {
    conn.established = true;
    conn.establishedAt = now;
    everEstablished.push(conn);
    established++;
    if (established > maxEstablished) maxEstablished = established;
  } else if (!ok) {
    // A definite answer (e.g. 503 OVERLOADED): EventSource would not retry either.
    conn.attempt = MAX_ATTEMPTS;
    conn.lastError = `HTTP ${conn.scanner.status}`;
    conn.socket.destroy();
  }
}

function openOne(attempt = 1): void {
  if (attempt === 1) opened++;
  const conn = {
    established: false,
    gen,
    attempt,
    lastError: 'closed',
    establishedAt: Number.POSITIVE_INFINITY,
  } as Conn;
  conn.scanner = new SseResponseScanner(sink);
  conn.socket = connect({
    host: target.host,
    port: target.port,
    onread: {
      buffer: READ_BUFFER,
      callback: (n: number) => {
        onRead(conn, n);
        return true;
      },
    },
  });
  const socket = conn.socket;
  conns.add(conn);
  socket.on('connect', () => socket.write(request));
  socket.on('error', (err: NodeJS.ErrnoException) => {
    conn.lastError = err.code ?? err.message;
  });
  socket.on('close', () => {
    conns.delete(conn);
    if (conn.gen !== gen || closing) return;
    if (conn.established) {
      established--;
      closedByServer++;
    } else if (conn.attempt < MAX_ATTEMPTS) {
      retries++;
      setTimeout(
        () => {
          if (conn.gen === gen && !closing) openOne(conn.attempt + 1);
        },
        500 + Math.random() * 1000,
      );
    } else fail(conn.lastError);
  });
}

/** Opens `count` more streams at `perSec`, in small bursts every 10 ms. */
function ramp(count: number, perSec: number): void {
  if (rampTimer) clearInterval(rampTimer);
  let left = count;
  let carry = 0;
  let last = performance.now();
  rampTimer = setInterval(() => {
    const t = performance.now();
    carry += ((t - last) * perSec) / 1000;
    last = t;
    const n = Math.min(left, Math.floor(carry));
    carry -= n;
    left -= n;
    for (let i = 0; i < n; i++) openOne();
    if (left <= 0 && rampTimer) {
      clearInterval(rampTimer);
      rampTimer = null;
    }
  }, 10);
}

function stats(): WorkerStats {
  let windowStreams = 0;
  for (const c of everEstablished) if (c.establishedAt <= t0) windowStreams++;
  return {
    windowStreams,
    opened,
    established,
    maxEstablished,
    failed,
    closedByServer,
    retries,
    failReasons: Object.fromEntries(failReasons),
    ...counts,
    hist: hist.toSparse(),
  };
}

function reply(msg: WorkerReply): void {
  process.send?.(msg);
}

process.on('message', (msg: WorkerRequest) => {
  switch (msg.type) {
    case 'target':
      target = { host: msg.host, port: msg.port, path: msg.path };
      request = Buffer.from(
        `GET ${msg.path} HTTP/1.1\r\nHost: ${msg.host}:${msg.port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n`,
      );
      closing = false;
      break;
    case 'open':
      ramp(msg.count, msg.perSec);
      break;
    case 'window':
      t0 = msg.t0;
      t1 = msg.t1;
      counts.windowUpdates = 0;
      hist.reset();
      break;
    case 'stats':
      reply({ type: 'stats', id: msg.id, stats: stats() });
      break;
    case 'close': {
      closing = true;
      gen++;
      if (rampTimer) clearInterval(rampTimer);
      rampTimer = null;
      for (const c of conns) c.socket.destroy();
      opened = 0;
      established = 0;
      maxEstablished = 0;
      failed = 0;
      closedByServer = 0;
      retries = 0;
      failReasons.clear();
      everEstablished = [];
      Object.assign(counts, noneReceived());
      hist.reset();
      t0 = Number.POSITIVE_INFINITY;
      t1 = Number.NEGATIVE_INFINITY;
      reply({ type: 'closed', id: msg.id });
      break;
    }
    case 'exit':
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));
reply({ type: 'ready' });
