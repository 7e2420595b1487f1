/**
 * A gateway as a real child process (`node --import tsx gateway/main.ts`), for tests that need
 * what only a process has: signals, exit codes, a port that outlives a crash, its own heap.
 *
 * The child also loads `gc-probe.ts` (with `--expose-gc`), which answers an IPC request with its
 * heap after a forced GC, so leak tests read a stable figure without a debug endpoint.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const GC_PROBE = join(ROOT, 'test', 'helpers', 'gc-probe.ts');
/** Output kept per process for diagnostics (the tail). */
const MAX_OUTPUT_CHARS = 64 * 1024;

export interface GatewayProcessOptions {
  /** Environment of the gateway (config variables); PORT and HOST are set by the helper. */
  env: Record<string, string>;
  /** Port to listen on; default: a free loopback port. */
  port?: number;
  /** Extra CLI flags for gateway/main.ts. */
  args?: string[];
  /** Label used in error messages. */
  name?: string;
  /** Variables of this process's environment the child must not inherit (e.g. KAFKA_BROKERS). */
  unsetEnv?: string[];
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Epoch ms when the process exited. */
  at: number;
}

/** Heap figures read inside the child right after a forced full GC. */
export interface HeapReading {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

/** Resolves with a loopback port that was free a moment ago. */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/**
 * One gateway process. `start()` spawns it and waits for `/readyz`; `kill(signal)` signals it and
 * waits for the exit; `restart()` spawns it again on the same port with the same environment.
 * Call `stop()` in `t.after`: it SIGKILLs the process if it still runs.
 */
export class GatewayProcess {
  readonly port: number;
  readonly url: string;
  readonly name: string;
  private child: ChildProcess | null = null;
  private exitInfo: Promise<ExitInfo> | null = null;
  private output = '';

  private constructor(
    private readonly opts: GatewayProcessOptions,
    port: number,
  ) {
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.name = opts.name ?? `gateway:${port}`;
  }

  /** Spawns a gateway and resolves once its `/readyz` answers 200. */
  static async start(opts: GatewayProcessOptions, readyTimeoutMs = 60_000): Promise<GatewayProcess> {
    const gw = new GatewayProcess(opts, opts.port ?? (await freePort()));
    gw.spawn();
    await gw.waitReady(readyTimeoutMs);
    return gw;
  }

  /** Spawns a gateway without waiting for it (start-up failures, logs of the start itself). */
  static async launch(opts: GatewayProcessOptions): Promise<GatewayProcess> {
    const gw = new GatewayProcess(opts, opts.port ?? (await freePort()));
    gw.spawn();
    return gw;
  }

  /** The child's pid while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Whether the process has been spawned and has not exited. */
  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the process wrote (stdout and stderr), for assertion messages. */
  get logs(): string {
    return this.output;
  }

  /** Resolves when the current process exits (immediately if it has). */
  exited(): Promise<ExitInfo> {
    if (!this.exitInfo) throw new Error(`${this.name} was never started`);
    return this.exitInfo;
  }

  /** Sends a signal without waiting. */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }

  /** Sends a signal and resolves with the exit (rejects after `timeoutMs`). */
  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 30_000): Promise<ExitInfo> {
    const exited = this.exited();
    this.signal(signal);
    return withTimeout(exited, timeoutMs, `${this.name} did not exit within ${timeoutMs} ms of ${signal}`);
  }

  /** Starts the process again on the same port (after it exited) and waits for `/readyz`. */
  async restart(readyTimeoutMs = 60_000): Promise<void> {
    if (this.running) throw new Error(`${this.name} is still running`);
    this.spawn();
    await this.waitReady(readyTimeoutMs);
  }

  /** SIGKILLs the process if it runs; for cleanup hooks. */
  async stop(): Promise<void> {
    if (!this.running) return;
    await this.kill('SIGKILL', 10_000).catch(() => {});
  }

  /** Resolves once `/readyz` answers 200; rejects if the process exits first or on timeout. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const exited = this.exited();
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    while (Date.now() < deadline) {
      if (gone) throw new Error(`${this.name} exited before it was ready:\n${this.output}`);
      const status = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.status)
        .catch(() => 0);
      if (status === 200) return;
      await sleep(100);
    }
    throw new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.output}`);
  }

  /** GET a path on this instance directly (not through NGINX). */
  fetch(path: string, init?: RequestInit): Promise<Response> {
    return fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(10_000), ...init });
  }

  /** The Prometheus text of this instance. */
  async metricsText(): Promise<string> {
    const res = await this.fetch('/metrics');
    if (res.status !== 200) throw new Error(`${this.name} /metrics answered ${res.status}`);
    return res.text();
  }

  /** Forces a full GC in the child and reads its heap (needs the gc probe, loaded by default). */
  async heapAfterGc(timeoutMs = 10_000): Promise<HeapReading> {
    const child = this.child;
    if (!child || !this.running || !child.send) throw new Error(`${this.name} is not running`);
    const reply = new Promise<HeapReading>((resolve) => {
      const onMessage = (m: unknown) => {
        const msg = m as { type?: string; heap?: HeapReading };
        if (msg?.type !== 'heap' || !msg.heap) return;
        child.off('message', onMessage);
        resolve(msg.heap);
      };
      child.on('message', onMessage);
    });
    child.send({ type: 'gc' });
    return withTimeout(reply, timeoutMs, `${this.name} did not answer the gc probe`);
  }

  private spawn(): void {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LOG_LEVEL: 'warn',
      ...this.opts.env,
      HOST: '127.0.0.1',
      PORT: String(this.port),
    };
    delete env.NODE_TEST_CONTEXT; // the child is a gateway, not a test file
    for (const name of this.opts.unsetEnv ?? []) if (!(name in this.opts.env)) delete env[name];
    this.output = '';
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', '--import', GC_PROBE, 'gateway/main.ts', ...(this.opts.args ?? [])],
      { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
    );
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString('utf8')).slice(-MAX_OUTPUT_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
    this.exitInfo = new Promise((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
    });
  }
}

/** Parses one un-labelled (or first-matching) sample of a Prometheus text exposition. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    const labelText = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    if (!Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) {
      sum += value;
      found = true;
    }
  }
  return found ? sum : Number.NaN;
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
