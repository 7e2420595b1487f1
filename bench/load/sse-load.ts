import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Histogram } from '../lib/histogram.ts';
import { noneReceived, type WorkerReply, type WorkerRequest, type WorkerStats } from './worker-protocol.ts';

const WORKER = fileURLToPath(new URL('./sse-worker.ts', import.meta.url));

export interface StreamTarget {
  host: string;
  port: number;
  /** Path and query of the event stream, e.g. `/v1/stream?streams=orders`. */
  path: string;
}

/** The workers' counters added up, and their histograms merged. */
export interface LoadStats extends Omit<WorkerStats, 'hist'> {
  hist: Histogram;
}

/**
 * Controls the SSE load: N worker processes, each holding an equal share of the streams.
 * Ramps are cumulative (`rampTo(2000)` after `rampTo(1000)` opens 1000 more).
 */
export class SseLoad {
  private nextId = 1;
  private readonly pendingReplies = new Map<number, (r: WorkerReply) => void>();
  private share: number[];

  private constructor(private readonly workers: ChildProcess[]) {
    this.share = workers.map(() => 0);
    for (const w of workers)
      w.on('message', (m: WorkerReply) => {
        if ('id' in m) {
          const done = this.pendingReplies.get(m.id);
          this.pendingReplies.delete(m.id);
          done?.(m);
        }
      });
  }

  static async start(count: number): Promise<SseLoad> {
    const workers = await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise<ChildProcess>((resolve, reject) => {
            const w = fork(WORKER, [], {
              execArgv: ['--import', 'tsx', '--max-semi-space-size=32'],
              stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
            });
            w.once('error', reject);
            w.once('exit', (code) => reject(new Error(`load worker exited with ${code}`)));
            w.once('message', () => resolve(w));
          }),
      ),
    );
    return new SseLoad(workers);
  }

  pids(): number[] {
    return this.workers.map((w) => w.pid!);
  }

  target(t: StreamTarget): void {
    this.share = this.workers.map(() => 0);
    this.broadcast({ type: 'target', ...t });
  }

  /**
   * Opens streams until `total` are requested (at `perSec` overall) and waits until each one is
   * either established or failed, or `timeoutMs` passes. Returns the stats at that point.
   */
  async rampTo(total: number, perSec: number, timeoutMs: number): Promise<LoadStats> {
    const n = this.workers.length;
    const requested = this.share.reduce((a, b) => a + b, 0);
    for (let i = 0; i < n; i++) {
      const want = Math.floor(total / n) + (i < total % n ? 1 : 0);
      const more = want - this.share[i]!;
      if (more > 0) {
        this.workers[i]!.send({ type: 'open', count: more, perSec: perSec / n } satisfies WorkerRequest);
        this.share[i] = want;
      }
    }
    const deadline = Date.now() + timeoutMs;
    let s = await this.stats();
    const target = Math.max(total, requested);
    while (s.established + s.failed + s.closedByServer < target && Date.now() < deadline) {
      await sleep(100);
      s = await this.stats();
    }
    return s;
  }

  /** Starts a measurement window: only updates created in [t0, t1) are counted and timed. */
  window(t0: number, t1: number): void {
    this.broadcast({ type: 'window', t0, t1 });
  }

  async stats(): Promise<LoadStats> {
    const replies = await Promise.all(this.workers.map((w) => this.ask(w, { type: 'stats' })));
    const hist = new Histogram();
    const sum: LoadStats = {
      opened: 0,
      established: 0,
      maxEstablished: 0,
      failed: 0,
      closedByServer: 0,
      retries: 0,
      failReasons: {},
      windowStreams: 0,
      ...noneReceived(),
      hist,
    };
    for (const r of replies) {
      if (r.type !== 'stats') continue;
      const { hist: h, failReasons, ...counts } = r.stats;
      hist.addSparse(h);
      for (const [k, v] of Object.entries(counts)) (sum as unknown as Record<string, number>)[k]! += v;
      for (const [k, v] of Object.entries(failReasons)) sum.failReasons[k] = (sum.failReasons[k] ?? 0) + v;
    }
    return sum;
  }

  /** Closes every stream and resets the counters (the workers stay up for the next phase). */
  async closeAll(): Promise<void> {
    await Promise.all(this.workers.map((w) => this.ask(w, { type: 'close' })));
    this.share = this.workers.map(() => 0);
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exitCode !== null || w.signalCode !== null) return resolve();
            w.removeAllListeners('exit');
            w.once('exit', () => resolve());
            w.send({ type: 'exit' } satisfies WorkerRequest);
            setTimeout(() => {
              w.kill('SIGKILL');
              resolve();
            }, 3000).unref();
          }),
      ),
    );
  }

  private broadcast(msg: WorkerRequest): void {
    for (const w of this.workers) w.send(msg);
  }

  private ask(w: ChildProcess, msg: { type: 'stats' | 'close' }): Promise<WorkerReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pendingReplies.set(id, resolve);
      w.send({ ...msg, id } satisfies WorkerRequest);
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
