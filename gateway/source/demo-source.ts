import { randomUUID } from 'node:crypto';
import type { StreamConfig } from '../config/streams.ts';
import { LiveMapGenerator } from './demo-live-map.ts';
import { MemorySource } from './memory-source.ts';
import type { RecordSink, RecordSource, SourceStatus } from './types.ts';

/** Records the demo feed keeps per partition (at least; trimmed in halves). */
export const DEMO_RETAIN = 1000;

/**
 * The embedded demo feed: a live-map generator writing orders (feed) and per-country totals
 * (table) into an in-memory source at `rate` orders per second. It drives the very same cache
 * and endpoints as Kafka does. It writes to the first feed stream and the first table stream.
 */
export class DemoSource implements RecordSource {
  readonly kind = 'demo' as const;
  private readonly memory: MemorySource;
  private readonly generator = new LiveMapGenerator();
  private timer: NodeJS.Timeout | null = null;
  private carry = 0;
  private readonly feed: StreamConfig | undefined;
  private readonly table: StreamConfig | undefined;

  constructor(
    streams: readonly StreamConfig[],
    private readonly rate: number,
    private readonly now: () => number = Date.now,
  ) {
    // Nothing re-reads the demo's log after start: keep a little, not every record ever made
    // (issue 16: 154 -> 222 MB of live heap in 64 s at DEMO_RATE=2000). A random lineage per
    // run: the generated data of another run (a restart) is unrelated, so its ids must resync
    // here, never replay these offsets.
    this.memory = new MemorySource({
      streams,
      now,
      kind: 'demo',
      retain: DEMO_RETAIN,
      lineage: `demo:${randomUUID()}`,
    });
    this.feed = streams.find((s) => s.mode === 'feed');
    this.table = streams.find((s) => s.mode === 'table');
  }

  async start(sink: RecordSink): Promise<void> {
    await this.memory.start(sink);
    const tickMs = 50;
    // Poisson-ish pacing: a fractional carry keeps the average rate exact at any tick size.
    this.timer = setInterval(() => {
      this.carry += (this.rate * tickMs) / 1000;
      const n = Math.floor(this.carry);
      this.carry -= n;
      for (let i = 0; i < n; i++) this.emit();
    }, tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.memory.stop();
  }

  status(): SourceStatus {
    return this.memory.status();
  }

  /** Records held in memory (bounded: {@link DEMO_RETAIN} per partition, at most twice that). */
  get retained(): number {
    return this.memory.retained;
  }

  private emit(): void {
    const now = this.now();
    const { order, total } = this.generator.next(now);
    if (this.feed)
      this.memory.produce(this.feed.topic, [{ key: order.id, value: JSON.stringify(order), timestamp: now }]);
    if (this.table)
      this.memory.produce(this.table.topic, [
        { key: total.country, value: JSON.stringify(total), timestamp: now },
      ]);
  }
}
