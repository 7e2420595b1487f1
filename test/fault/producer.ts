/**
 * The numbered producer of the fault-injection tests: each tick writes one feed record carrying
 * the next `seq` (single-partition topic: one total order) and one counter record for a key,
 * carrying that key's next `n` (multi-partition compacted topic). The ground truth advances only
 * after the broker acknowledged both, so what clients must end with is exactly known.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { produce } from '../helpers/kafka.ts';

export interface GroundTruth {
  /** Last `seq` written to the feed (0: none). */
  lastSeq: number;
  /** Per counter key, the last `n` written. */
  counters: ReadonlyMap<string, number>;
}

export class NumberedProducer {
  private seq = 0;
  private readonly counts = new Map<string, number>();
  private running: Promise<void> | null = null;
  private stopping = false;
  /** The error that stopped the producer, if any (the test fails on it). */
  failure: Error | null = null;

  constructor(
    private readonly feedTopic: string,
    private readonly counterTopic: string,
    private readonly opts: { keys?: number; intervalMs?: number; padBytes?: number } = {},
  ) {}

  /** What every client must end with. */
  truth(): GroundTruth {
    return { lastSeq: this.seq, counters: this.counts };
  }

  /** Writes `n` ticks now (no interval), e.g. to seed the topics before clients connect. */
  async writeTicks(n: number): Promise<void> {
    for (let i = 0; i < n; i++) await this.tick();
  }

  /** Starts writing one tick per interval in the background. */
  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = (async () => {
      while (!this.stopping) {
        try {
          await this.tick();
        } catch (err) {
          // A retry could duplicate a record the broker did take: stop and let the test fail.
          this.failure = err as Error;
          return;
        }
        await sleep(this.opts.intervalMs ?? 100);
      }
    })();
  }

  /** Stops after the tick in flight (its records acknowledged and counted). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.running = null;
    if (this.failure) throw new Error(`the producer failed: ${this.failure.message}`);
  }

  private async tick(): Promise<void> {
    const seq = this.seq + 1;
    const keys = this.opts.keys ?? 10;
    const key = `k${seq % keys}`;
    const n = (this.counts.get(key) ?? 0) + 1;
    const pad = this.opts.padBytes ? `,"pad":"${'x'.repeat(this.opts.padBytes)}"` : '';
    await Promise.all([
      produce(this.feedTopic, [{ value: `{"seq":${seq}${pad}}` }]),
      produce(this.counterTopic, [{ key, value: `{"n":${n}}` }]),
    ]);
    this.seq = seq;
    this.counts.set(key, n);
  }
}
