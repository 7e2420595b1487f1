import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { type Admin, type Consumer, Kafka, type LogEntry, logLevel } from 'kafkajs';
import type { StreamConfig } from '../config/streams.ts';
import type { Logger } from '../observability/logger.ts';
import { backoffDelay } from './backoff.ts';
import { type RecordSink, type RecordSource, type SourceRecord, type SourceStatus, tpKey } from './types.ts';

export interface KafkaSourceOptions {
  brokers: readonly string[];
  clientId: string;
  streams: readonly StreamConfig[];
  logger: Logger;
  connectTimeoutMs: number;
  maxRetryMs: number;
  now?: () => number;
}

/** How long the broker may hold a fetch open; also bounds how fast staleness is noticed. */
const MAX_WAIT_MS = 250;

/**
 * Reads every partition of every configured topic (each instance holds the full state, so
 * instances never split partitions: each one joins a consumer group of its own and commits
 * nothing). Where it starts: `table` streams from the earliest retained offset, `feed` streams
 * from their last `maxItems` records per partition. After a reconnect or a consumer restart it
 * seeks every partition back to the cache's own position, so no record is skipped or applied
 * twice (the cache also drops offsets it already has).
 */
export class KafkaSource implements RecordSource {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private consumer: Consumer | null = null;
  private sink: RecordSink | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private lastFetchAt: number | null = null;
  private readonly highWatermarks = new Map<string, number>();
  private readonly startOffsets = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: KafkaSourceOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ component: 'kafka-source' });
    const log = this.log;
    this.kafka = new Kafka({
      clientId: opts.clientId,
      brokers: [...opts.brokers],
      connectionTimeout: opts.connectTimeoutMs,
      retry: { initialRetryTime: 200, maxRetryTime: opts.maxRetryMs, retries: 8 },
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ level, log: entry }: LogEntry) => {
          const { message, ...extra } = entry;
          if (level <= logLevel.ERROR) log.warn({ kafkajs: extra }, message);
          else log.debug({ kafkajs: extra }, message);
        },
    });
  }

  async start(sink: RecordSink): Promise<void> {
    this.sink = sink;
    this.launch();
  }

  status(): SourceStatus {
    const connected = this.lastFetchAt !== null && this.now() - this.lastFetchAt < 20 * MAX_WAIT_MS + 5000;
    return { connected, lastFetchAt: this.lastFetchAt, highWatermarks: this.highWatermarks };
  }

  /** Idempotent and single-flight: every caller awaits the same stop. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      const c = this.consumer;
      this.consumer = null;
      await c?.disconnect().catch((err: unknown) => this.log.warn({ err }, 'consumer disconnect failed'));
    })();
    return this.stopped;
  }

  /** Starts (or restarts) the consumer in the background; failures retry with backoff. */
  private launch(): void {
    this.retryTimer = null;
    if (this.stopping) return;
    this.run().catch((err: unknown) => this.retryLater(err));
  }

  private retryLater(err: unknown): void {
    if (this.stopping) return;
    const delay = backoffDelay(this.attempt++, 250, this.opts.maxRetryMs);
    this.log.warn({ err: (err as Error)?.message, delayMs: delay }, 'kafka source failed; retrying');
    const c = this.consumer;
    this.consumer = null;
    void c?.disconnect().catch(() => {});
    this.retryTimer = setTimeout(() => this.launch(), delay);
  }

  private async run(): Promise<void> {
    await this.planPartitions();
    const consumer = this.kafka.consumer({
      groupId: `${this.opts.clientId}.${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`,
      maxWaitTimeInMs: MAX_WAIT_MS,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 200, maxRetryTime: this.opts.maxRetryMs, retries: 8 },
    });
    this.consumer = consumer;
    const { GROUP_JOIN, FETCH, CRASH } = consumer.events;
    consumer.on(GROUP_JOIN, (e) => this.seekToCache(consumer, e.payload.memberAssignment));
    consumer.on(FETCH, () => {
      this.lastFetchAt = this.now();
      this.attempt = 0;
    });
    consumer.on(CRASH, (e) => {
      // kafkajs restarts by itself after retriable errors; after the others it gives up, so we do.
      if (!e.payload.restart) this.retryLater(e.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.opts.streams.map((s) => s.topic), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        this.highWatermarks.set(tpKey(batch.topic, batch.partition), Number(batch.highWatermark));
        const records: SourceRecord[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: Number(m.offset),
          key: m.key,
          value: m.value,
          timestamp: Number(m.timestamp),
        }));
        this.sink!.apply(batch.topic, batch.partition, records);
      },
    });
  }

  /** Reads low/high watermarks and tells the sink where each partition starts (first run only). */
  private async planPartitions(): Promise<void> {
    if (this.startOffsets.size > 0) return;
    const admin: Admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const stream of this.opts.streams) {
        const offsets = await admin.fetchTopicOffsets(stream.topic);
        for (const o of offsets) {
          const low = Number(o.low);
          const high = Number(o.high);
          const start = stream.mode === 'table' ? low : Math.max(low, high - stream.maxItems);
          this.startOffsets.set(tpKey(stream.topic, o.partition), start);
          this.highWatermarks.set(tpKey(stream.topic, o.partition), high);
          this.sink!.plan({
            topic: stream.topic,
            partition: o.partition,
            startOffset: start,
            highWatermark: high,
          });
        }
      }
      this.lastFetchAt = this.now();
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  private seekToCache(consumer: Consumer, assignment: Record<string, number[]>): void {
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const offset =
          this.sink!.nextOffset(topic, partition) ?? this.startOffsets.get(tpKey(topic, partition)) ?? 0;
        consumer.seek({ topic, partition, offset: String(offset) });
      }
    }
  }
}
