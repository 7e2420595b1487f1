/**
 * Hostile clients against a real gateway process (test/helpers/gateway-process.ts), over raw
 * sockets (node:net), loopback only. Every hostile test checks the same four things:
 * - each answer is a status (and code) from the error catalogue, never a 5xx;
 * - no phantom stream: `/healthz` `streams`, `switchyard_sse_connections` and the per-address
 *   accounting return to their baseline once the hostile sockets are gone;
 * - `/healthz` answers within {@link HEALTHZ_BUDGET_MS} of the gateway's event-loop time
 *   throughout (see HealthProber), measured by a concurrent prober on a connection of its own;
 * - the heap (after a forced GC in the gateway) comes back within a bound.
 * The gateway runs in a child process so that the prober measures its event loop, not the
 * test's, and the heap figures are its own.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ERROR_CATALOGUE } from '../../gateway/errors.ts';
import { GatewayProcess, type HeapReading, metricValue } from '../helpers/gateway-process.ts';

/** What `/healthz` must answer within while an attack runs (the bound). */
export const HEALTHZ_BUDGET_MS = Number(process.env.HOSTILE_HEALTHZ_BUDGET_MS ?? 100);
/** Heap growth (after GC) an attack may leave behind once its sockets are gone. */
export const HEAP_BOUND_BYTES = 16 * 1024 * 1024;

/** A demo-fed gateway (no Kafka, no legacy demo backend) for hostile tests; the caller stops it. */
export async function startTarget(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const gw = await GatewayProcess.start({
    name: 'hostile-target',
    // Explicit streams: the demo feed without the demo's legacy backend (and its fixed port).
    env: {
      STREAMS: 'orders:feed:switchyard.demo.orders,totals:table:switchyard.demo.totals',
      DEMO_RATE: '20',
      LOG_LEVEL: 'warn',
      ...env,
    },
    unsetEnv: ['KAFKA_BROKERS'],
  });
  return gw;
}

/** One raw TCP client: writes bytes as given, keeps everything the server answers. */
export class RawClient {
  readonly socket: Socket;
  private chunks: Buffer[] = [];
  private size = 0;
  /** Resolves when the server (or anything) closes the connection. */
  readonly closed: Promise<void>;
  ended = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      // Keep at most 4 MiB: a flood answered in full is not what a test reads.
      if (this.size < 4 * 1024 * 1024) this.chunks.push(c);
      this.size += c.length;
    });
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true;
        resolve();
      }),
    );
  }

  static async open(port: number, localAddress = '127.0.0.1'): Promise<RawClient> {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    await once(socket, 'connect');
    return new RawClient(socket);
  }

  /** Bytes received so far. */
  get received(): number {
    return this.size;
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The status codes of the responses received so far, in order. */
  statuses(): number[] {
    return [...this.text.matchAll(/(?:^|\r\n)HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
  }

  /** Waits until `pred(text)` holds or the connection closes; fails after `ms`. */
  async waitFor(pred: (text: string) => boolean, ms = 5000, what = 'an answer'): Promise<string> {
    const deadline = Date.now() + ms;
    while (!pred(this.text)) {
      if (this.ended) break;
      if (Date.now() > deadline)
        assert.fail(`timed out waiting for ${what}; got: ${this.text.slice(0, 400)}`);
      await sleep(10);
    }
    return this.text;
  }

  /** Waits for the server to close the connection (fails after `ms`). */
  async waitClosed(ms = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`connection still open after ${ms} ms`)), ms);
    });
    try {
      await Promise.race([this.closed, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** The raw bytes of a request (HTTP/1.1, keep-alive). */
export function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Buffer {
  const lines = [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return body === undefined ? head : Buffer.concat([head, Buffer.from(body)]);
}

/** One complete answer parsed from a raw response (first response on the connection). */
export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends one request on a fresh connection and reads its (non-streaming) answer. */
export async function rawAsk(port: number, req: Buffer, localAddress?: string): Promise<RawAnswer> {
  const c = await RawClient.open(port, localAddress);
  try {
    c.write(req);
    const text = await c.waitFor((t) => complete(t) !== null, 5000, 'a complete answer');
    const a = complete(text);
    if (!a) assert.fail(`no complete answer: ${text.slice(0, 400)}`);
    return a;
  } finally {
    c.destroy();
  }
}

function complete(text: string): RawAnswer | null {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(':');
    headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
  }
  const len = Number(headers['content-length'] ?? Number.NaN);
  const rest = text.slice(end + 4);
  if (Number.isFinite(len)) {
    if (rest.length < len) return null;
    return { status: Number(statusLine!.split(' ')[1]), headers, body: rest.slice(0, len) };
  }
  if (headers['transfer-encoding'] === 'chunked') {
    if (!rest.includes('\r\n0\r\n\r\n') && !rest.startsWith('0\r\n\r\n')) return null;
    let body = '';
    let i = 0;
    for (;;) {
      const nl = rest.indexOf('\r\n', i);
      const n = Number.parseInt(rest.slice(i, nl), 16);
      if (!(n > 0)) break;
      body += rest.slice(nl + 2, nl + 2 + n);
      i = nl + 2 + n + 2;
    }
    return { status: Number(statusLine!.split(' ')[1]), headers, body };
  }
  return { status: Number(statusLine!.split(' ')[1]), headers, body: rest };
}

/** Asserts a client error from the catalogue: its status, its code, JSON, no stack or path. */
export function assertCatalogue(a: RawAnswer, status: number, code: string): void {
  assert.equal(a.status, status, `${code}: ${a.body}`);
  assert.ok(code in ERROR_CATALOGUE, `${code} is in the catalogue`);
  assert.equal(ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status, status);
  assert.match(a.headers['content-type'] ?? '', /^application\/json/);
  const json = JSON.parse(a.body) as { error?: { code?: string } };
  assert.equal(json.error?.code, code, a.body);
  assert.doesNotMatch(a.body, /\bat [\w.<>]+ \(|node:internal|node_modules|\.ts:\d+/, 'no stack');
}

/**
 * A trivial node:http server in a process of its own: what a `/healthz` round trip costs on this
 * machine right now with no gateway work in it. On a shared 2-core machine the scheduler alone
 * can delay an answer by tens of milliseconds; the prober subtracts that (see below).
 */
export class NoiseControl {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async start(): Promise<NoiseControl> {
    const child = spawn(
      process.execPath,
      [
        '-e',
        "const s=require('node:http').createServer((q,r)=>r.end('ok'));s.listen(0,'127.0.0.1',()=>console.log(s.address().port))",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    return new NoiseControl(child, Number(line.toString().trim()));
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/**
 * Asks `/healthz` every 25 ms, and the noise control at the same moment, from a process of its
 * own (prober.ts). The budget is what the attack may cost, not what the machine's other tenants
 * cost, so it bounds the gateway's event-loop time, not wall-clock time: while any probe waited,
 * the gateway's main thread may have run at most {@link HEALTHZ_BUDGET_MS} (plus what it ran
 * while the prober itself was late: the control's worst answer, and two /proc ticks of
 * accounting). A machine that lends the gateway a tenth of a core stretches a 50 ms stall to
 * 500 ms of wall clock but not its CPU time; a stall of the gateway's own making (a render per
 * pipelined request, a synchronous loop) is CPU time, and fails this bound whatever the load.
 */
export class HealthProber {
  private constructor(private readonly child: ChildProcess) {}

  static async start(gw: GatewayProcess, control: NoiseControl): Promise<HealthProber> {
    if (gw.pid === undefined) throw new Error(`${gw.name} is not running`);
    const child = fork(PROBER, [String(gw.port), String(control.port), String(gw.pid)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    await once(child, 'message');
    return new HealthProber(child);
  }

  /** Stops probing and asserts every answer came within the budget. */
  async stopAndAssert(
    what: string,
  ): Promise<{ maxMs: number; maxCpuMs: number; controlMaxMs: number; samples: number }> {
    const reply = once(this.child, 'message') as Promise<[ProbeFigures]>;
    this.child.send('stop');
    const [f] = await reply;
    assert.deepEqual(f.failures, [], `${what}: /healthz failed`);
    const figures = {
      maxMs: Math.round(f.maxMs),
      maxCpuMs: f.maxCpuMs,
      controlMaxMs: Math.round(f.controlMaxMs),
      samples: f.samples,
    };
    if (process.env.HOSTILE_FIGURES === '1')
      process.stderr.write(`[hostile] ${what}: ${JSON.stringify(figures)}\n`);
    const budget = HEALTHZ_BUDGET_MS + figures.controlMaxMs + PROC_TICK_SLACK_MS;
    assert.ok(
      f.maxCpuMs <= budget,
      `${what}: the gateway's event loop ran ${f.maxCpuMs} ms of CPU ahead of a /healthz (budget ${HEALTHZ_BUDGET_MS} ms + ${figures.controlMaxMs} ms the prober was late + ${PROC_TICK_SLACK_MS} ms of /proc ticks; wall clock ${figures.maxMs} ms)`,
    );
    return figures;
  }
}

/** /proc charges CPU in 10 ms ticks, sampled: a probe's reading may be two ticks off. */
const PROC_TICK_SLACK_MS = 20;

interface ProbeFigures {
  maxMs: number;
  maxCpuMs: number;
  controlMaxMs: number;
  samples: number;
  failures: string[];
}

const PROBER = join(dirname(fileURLToPath(import.meta.url)), 'prober.ts');

/** Open streams as the gateway counts them: hub, gauge, per-address accounting. */
export interface StreamGauges {
  healthzStreams: number;
  sseConnections: number;
  clientAddresses: number;
}

export async function streamGauges(gw: GatewayProcess): Promise<StreamGauges> {
  const h = (await (await gw.fetch('/healthz')).json()) as { streams: number };
  const m = await gw.metricsText();
  return {
    healthzStreams: h.streams,
    sseConnections: metricValue(m, 'switchyard_sse_connections'),
    clientAddresses: metricValue(m, 'switchyard_stream_client_addresses'),
  };
}

/** Waits (up to `ms`) for every stream gauge to come back to `expected`, else fails with the last reading. */
export async function assertStreamsBackTo(
  gw: GatewayProcess,
  expected: StreamGauges,
  ms = 5000,
): Promise<void> {
  const deadline = Date.now() + ms;
  let last = await streamGauges(gw);
  while (Date.now() < deadline) {
    if (sameGauges(last, expected)) return;
    await sleep(100);
    last = await streamGauges(gw);
  }
  assert.deepEqual(last, expected, 'phantom streams: the gauges did not return to their baseline');
}

function sameGauges(a: StreamGauges, b: StreamGauges): boolean {
  return (
    a.healthzStreams === b.healthzStreams &&
    a.sseConnections === b.sseConnections &&
    a.clientAddresses === b.clientAddresses
  );
}

/** Heap of the gateway after a forced GC. */
export function heap(gw: GatewayProcess): Promise<HeapReading> {
  return gw.heapAfterGc();
}

/** Asserts the heap came back within {@link HEAP_BOUND_BYTES} of `before` (a few GCs allowed). */
export async function assertHeapBack(gw: GatewayProcess, before: HeapReading, what: string): Promise<number> {
  let grown = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5 && grown > HEAP_BOUND_BYTES; i++) {
    if (i > 0) await sleep(200);
    grown = (await heap(gw)).heapUsed - before.heapUsed;
  }
  assert.ok(
    grown <= HEAP_BOUND_BYTES,
    `${what}: heap grew by ${(grown / 1048576).toFixed(1)} MiB (bound ${HEAP_BOUND_BYTES / 1048576} MiB)`,
  );
  return grown;
}

/** The raw error log lines (pino level 50+) the gateway wrote. */
export function errorLogLines(gw: GatewayProcess): string[] {
  return gw.logs.split('\n').filter((l) => /"level":(50|60)/.test(l));
}
