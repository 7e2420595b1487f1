import type { StreamConfig } from '../config/streams.ts';
import type { RecordSink, RecordSource, SourceRecord, SourceStatus } from './types.ts';
import { tpKey } from './types.ts';

/** A record as a test or the demo writes it. */
export interface MemoryRecord {
  key?: string | null;
  value: string | Buffer | null;
  partition?: number;
  timestamp?: number;
}

/** One partition: records from offset `base` on. */
interface PartitionLog {
  base: number;
  records: SourceRecord[];
}

/**
 * An in-memory stand-in for Kafka behind the same interface: topics are arrays of records per
 * partition, and `produce` delivers to the sink on the next tick, as a fetch would. Used by unit
 * tests and by the embedded demo feed. Start offsets follow the Kafka source's rules.
 */
export class MemorySource implements RecordSource {
  readonly kind: 'memory' | 'demo';
  private readonly logs = new Map<string, PartitionLog[]>();
  /** Records kept per partition (older ones are dropped, offsets go on); Infinity: all. */
  private readonly retain: number;
  private sink: RecordSink | null = null;
  private lastFetchAt: number | null = null;
  private connected = true;
  private readonly streams: readonly StreamConfig[];
  private readonly now: () => number;
  private pending: SourceRecord[] = [];
  private scheduled = false;
  /** Per topic, the identity of its data (RecordSink.lineage): `lineage` until replaced. */
  private readonly lineages = new Map<string, string>();
  private readonly lineage: string;
  private replacements = 0;
  private readonly partitions: number;

  constructor(opts: {
    streams: readonly StreamConfig[];
    partitions?: number;
    now?: () => number;
    kind?: 'memory' | 'demo';
    /**
     * Records kept per partition, at least this many (default: all). The embedded demo feed
     * runs for days: it keeps a few, since nothing re-reads its log after start.
     */
    retain?: number;
    /**
     * Identity of the data (RecordSink.lineage). Default `memory`: two sources fed the same
     * records hold the same data, so their ids resume on each other (as two gateways on one
     * Kafka cluster). Change it with `replaceData()` or `replace()`.
     */
    lineage?: string;
  }) {
    this.partitions = opts.partitions ?? 1;
    this.lineage = opts.lineage ?? 'memory';
    this.retain = opts.retain ?? Number.POSITIVE_INFINITY;
    this.streams = opts.streams;
    this.now = opts.now ?? Date.now;
    this.kind = opts.kind ?? 'memory';
    for (const s of opts.streams) {
      this.logs.set(
        s.topic,
        Array.from({ length: this.partitions }, () => ({ base: 0, records: [] })),
      );
      this.lineages.set(s.topic, this.lineage);
    }
  }

  async start(sink: RecordSink): Promise<void> {
    this.sink = sink;
    // Everything logged so far is delivered below, as a bootstrap: not again on the next tick.
    this.pending = [];
    for (const s of this.streams) this.planTopic(sink, s);
    this.lastFetchAt = this.now();
  }

  /** Names the topic's lineage, plans its partitions and delivers what they hold (a bootstrap). */
  private planTopic(sink: RecordSink, s: StreamConfig): void {
    sink.lineage(s.topic, this.lineages.get(s.topic)!);
    this.logs.get(s.topic)!.forEach((log, partition) => {
      const high = log.base + log.records.length;
      const start = Math.max(log.base, s.mode === 'table' ? 0 : high - s.maxItems);
      sink.plan({ topic: s.topic, partition, startOffset: start, highWatermark: high });
      if (high > start) sink.apply(s.topic, partition, log.records.slice(start - log.base));
    });
  }

  /**
   * Replaces a topic's data, as deleting and re-creating a Kafka topic does: its log starts
   * again empty under a new lineage, and the sink is told (it drops the old state).
   */
  replaceData(topic: string, lineage: string): void {
    const parts = this.logs.get(topic);
    if (!parts) throw new Error(`unknown topic ${topic}`);
    for (const log of parts) {
      log.base = 0;
      log.records = [];
    }
    this.pending = this.pending.filter((r) => r.topic !== topic);
    this.lineages.set(topic, lineage);
    const s = this.streams.find((x) => x.topic === topic)!;
    if (this.sink) this.planTopic(this.sink, s);
  }

  /** Simulates a topic deleted and created again: empty, with a new lineage, read from its start. */
  replace(topic: string): void {
    this.replaceData(topic, `${this.lineage}:${++this.replacements}`);
  }

  async stop(): Promise<void> {
    this.sink = null;
  }

  status(): SourceStatus {
    const hw = new Map<string, number>();
    for (const [topic, parts] of this.logs)
      for (const [p, log] of parts.entries()) hw.set(tpKey(topic, p), log.base + log.records.length);
    // An in-memory log is always "fetched" up to date while connected.
    const lastFetchAt = this.connected && this.sink ? this.now() : this.lastFetchAt;
    return { connected: this.connected, lastFetchAt, highWatermarks: hw };
  }

  /** Simulates a broker outage: records still accumulate, nothing is delivered until reconnect. */
  setConnected(connected: boolean): void {
    if (!connected && this.connected) this.lastFetchAt = this.now();
    this.connected = connected;
    if (connected) this.schedule();
  }

  /** Appends records to a topic; they reach the sink on the next tick (in one batch per partition). */
  produce(topic: string, records: readonly MemoryRecord[]): void {
    const parts = this.logs.get(topic);
    if (!parts) throw new Error(`unknown topic ${topic}`);
    for (const r of records) {
      const partition = r.partition ?? 0;
      const log = parts[partition];
      if (!log) throw new Error(`topic ${topic} has no partition ${partition}`);
      const rec: SourceRecord = {
        topic,
        partition,
        offset: log.base + log.records.length,
        key: r.key === undefined || r.key === null ? null : Buffer.from(r.key),
        value: r.value === null ? null : Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value),
        timestamp: r.timestamp ?? this.now(),
      };
      log.records.push(rec);
      this.pending.push(rec);
      // Trimmed in halves: one splice per `retain` records, not one per record.
      if (log.records.length >= 2 * this.retain) {
        const drop = log.records.length - this.retain;
        log.records.splice(0, drop);
        log.base += drop;
      }
    }
    this.schedule();
  }

  /** Records held in memory over every partition (bounded by `retain`). */
  get retained(): number {
    let n = 0;
    for (const parts of this.logs.values()) for (const log of parts) n += log.records.length;
    return n;
  }

  private schedule(): void {
    if (this.scheduled || !this.connected) return;
    this.scheduled = true;
    setImmediate(() => this.deliver());
  }

  private deliver(): void {
    this.scheduled = false;
    if (!this.connected || !this.sink) return;
    const batch = this.pending;
    this.pending = [];
    const byTp = new Map<string, SourceRecord[]>();
    for (const r of batch) {
      const k = tpKey(r.topic, r.partition);
      const list = byTp.get(k);
      if (list) list.push(r);
      else byTp.set(k, [r]);
    }
    for (const list of byTp.values()) this.sink.apply(list[0]!.topic, list[0]!.partition, list);
    this.lastFetchAt = this.now();
  }
}
