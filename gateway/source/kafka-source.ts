import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { StreamConfig } from '../config/streams.ts';
import type { Logger } from '../observability/logger.ts';
import { backoffDelay } from './backoff.ts';
import { createKafkaClient, groupId, type KafkaClientOptions, withCoordinatorCause } from './kafka-client.ts';
import type { KafkaHealth } from './kafka-health.ts';
import { StallDetector } from './stall-detector.ts';
import { type RecordSink, type RecordSource, type SourceRecord, type SourceStatus, tpKey } from './types.ts';

export interface KafkaSourceOptions extends KafkaClientOptions {
  streams: readonly StreamConfig[];
  logger: Logger;
  /** Where failures are classified, logged once and exposed (/readyz, metrics). */
  health?: KafkaHealth;
  now?: () => number;
  /** How often the high-water marks are probed to notice a partition that stopped advancing. */
  probeIntervalMs?: number;
  /** A partition stuck this long gets the consumer restarted (seeking back to the cache). */
  stallRestartMs?: number;
  /**
   * Async work a batch needs before the synchronous apply (fetching Schema Registry schemas:
   * gateway/formats/). Must not reject.
   */
  prepare?: (topic: string, records: readonly SourceRecord[]) => Promise<void>;
}

/** How long the broker may hold a fetch open; also bounds how fast staleness is noticed. */
const MAX_WAIT_MS = 250;
/** A consumer or admin that does not disconnect within this is abandoned (never blocks shutdown). */
const DISCONNECT_TIMEOUT_MS = 3000;

/**
 * Reads every partition of every configured topic (each instance holds the full state, so
 * instances never split partitions: each one joins a consumer group of its own and commits
 * nothing). Where it starts: `table` streams from the earliest retained offset, `feed` streams
 * from their last `maxItems` records per partition.
 *
 * Faults: every consumer failure (broker gone, retries exhausted, a partition stuck while the
 * broker has more) ends that consumer and starts a new one after a jittered exponential backoff,
 * in a fresh group (a restarted broker would otherwise make the old member wait out its session
 * before the group rebalances). On joining, every partition is sought back to the cache's own
 * position, so no record is skipped, and the cache drops offsets it already has, so none is
 * applied twice. Meanwhile the cache keeps serving its last state; `status().freshAsOf` says
 * since when it may be incomplete (stale marking: docs/operations.md).
 */
export class KafkaSource implements RecordSource {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private consumer: Consumer | null = null;
  private sink: RecordSink | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private lastFetchAt: number | null = null;
  /** Last fetch of the consumer itself: `connected` means this, not a login or a metadata call. */
  private lastConsumerFetchAt: number | null = null;
  private readonly highWatermarks = new Map<string, number>();
  private readonly startOffsets = new Map<string, number>();
  private retryTimer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;
  private probeAdmin: Admin | null = null;
  private readonly stalls = new StallDetector();
  /** Per partition, the offset after the last one the consumer went past (control records included). */
  private readonly consumed = new Map<string, number>();
  private lastStallRestartAt = 0;
  private attempt = 0;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly probeIntervalMs: number;
  private readonly stallRestartMs: number;

  constructor(private readonly opts: KafkaSourceOptions) {
    this.now = opts.now ?? Date.now;
    this.probeIntervalMs = opts.probeIntervalMs ?? 5000;
    this.stallRestartMs = opts.stallRestartMs ?? 15_000;
    this.log = opts.logger.child({ component: 'kafka-source' });
    this.kafka = createKafkaClient(opts, this.log);
    opts.health?.describe(
      'source',
      opts.streams.map((s) => s.topic),
      'STREAMS',
    );
  }

  async start(sink: RecordSink): Promise<void> {
    this.sink = sink;
    this.launch();
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.probeTimer.unref();
  }

  status(): SourceStatus {
    const at = this.lastConsumerFetchAt;
    const connected = at !== null && this.now() - at < 20 * MAX_WAIT_MS + 5000;
    const stuck = this.stalls.stuckSince();
    const freshAsOf =
      this.lastFetchAt === null || stuck === null ? this.lastFetchAt : Math.min(this.lastFetchAt, stuck);
    return { connected, lastFetchAt: this.lastFetchAt, freshAsOf, highWatermarks: this.highWatermarks };
  }

  /** Idempotent and single-flight: every caller awaits the same stop. Bounded in time. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      if (this.probeTimer) clearInterval(this.probeTimer);
      const c = this.consumer;
      const a = this.probeAdmin;
      this.consumer = null;
      this.probeAdmin = null;
      await Promise.all([
        disconnectWithin(c, (err) => this.log.warn({ err }, 'consumer disconnect failed')),
        disconnectWithin(a, () => {}),
      ]);
    })();
    return this.stopped;
  }

  /** Starts (or restarts) the consumer in the background; failures retry with backoff. */
  private launch(): void {
    this.retryTimer = null;
    if (this.stopping) return;
    this.run().catch((err: unknown) => this.retryLater(err));
  }

  /** Ends the current consumer (if `failed` is it) and starts a new one after a backoff. */
  private retryLater(err: unknown, failed: Consumer | null = this.consumer): void {
    if (this.stopping || failed !== this.consumer || this.retryTimer) return;
    const delay = backoffDelay(this.attempt++, 250, this.opts.maxRetryMs);
    if (this.opts.health) this.opts.health.failed('source', err, { retryInMs: delay });
    else this.log.warn({ err: (err as Error)?.message, delayMs: delay }, 'kafka source failed; retrying');
    this.lastConsumerFetchAt = null;
    this.consumer = null;
    void disconnectWithin(failed, () => {});
    this.retryTimer = setTimeout(() => this.launch(), delay);
  }

  private async run(): Promise<void> {
    await this.planPartitions();
    // stop() may have run while planning: a consumer created now would outlive it.
    if (this.stopping) return;
    const consumer = this.kafka.consumer({
      groupId: groupId(this.opts.groupPrefix ?? this.opts.clientId),
      maxWaitTimeInMs: MAX_WAIT_MS,
      allowAutoTopicCreation: false,
      // Alone in its group, a member can time out fast: after a broker restart the rejoin then
      // waits seconds, not the 30 s default, before fetching resumes.
      sessionTimeout: 10_000,
      rebalanceTimeout: 10_000,
      heartbeatInterval: 1000,
      // kafkajs would restart a crashed consumer in the same group; a fresh one rejoins faster.
      retry: {
        initialRetryTime: 200,
        maxRetryTime: this.opts.maxRetryMs,
        retries: 8,
        restartOnFailure: async () => false,
      },
    });
    this.consumer = consumer;
    // The new consumer starts over from the cache's position: what the old one went past is moot.
    this.consumed.clear();
    const { GROUP_JOIN, FETCH, CRASH, START_BATCH_PROCESS } = consumer.events;
    consumer.on(GROUP_JOIN, (e) => this.seekToCache(consumer, e.payload.memberAssignment));
    consumer.on(FETCH, () => {
      if (this.consumer !== consumer) return;
      this.lastFetchAt = this.now();
      this.lastConsumerFetchAt = this.lastFetchAt;
      this.attempt = 0;
      this.opts.health?.recovered('source');
    });
    consumer.on(CRASH, (e) =>
      this.retryLater(withCoordinatorCause(e.payload.error, e.payload.groupId), consumer),
    );
    // Also fired for batches holding only transaction markers, which never reach the cache:
    // without it a partition ending with a marker would look stuck forever.
    consumer.on(START_BATCH_PROCESS, (e) => {
      if (this.consumer !== consumer) return;
      const key = tpKey(e.payload.topic, e.payload.partition);
      const next = Number(e.payload.lastOffset) + 1;
      if (next > (this.consumed.get(key) ?? 0)) this.consumed.set(key, next);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.opts.streams.map((s) => s.topic), fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (this.consumer !== consumer) return;
        this.highWatermarks.set(tpKey(batch.topic, batch.partition), Number(batch.highWatermark));
        const records: SourceRecord[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: Number(m.offset),
          key: m.key,
          value: m.value,
          timestamp: Number(m.timestamp),
        }));
        await this.opts.prepare?.(batch.topic, records);
        if (this.consumer === consumer) this.sink!.apply(batch.topic, batch.partition, records);
      },
    });
  }

  /** Reads low/high watermarks and tells the sink where each partition starts (first run only). */
  private async planPartitions(): Promise<void> {
    if (this.startOffsets.size > 0) return;
    const admin: Admin = this.kafka.admin();
    // Not fresh yet: connecting (ApiVersions, a login) proves nothing about reading the topics.
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
      await disconnectWithin(admin, () => {});
    }
  }

  /**
   * Compares the broker's high-water marks with the cache's position: a partition that lags and
   * does not move is stuck (it makes the source stale), and stuck too long restarts the consumer.
   * A failed probe changes nothing: the fetch clock already tells when the broker is gone.
   */
  private async probe(): Promise<void> {
    if (this.stopping || !this.sink || this.startOffsets.size === 0) return;
    try {
      this.probeAdmin ??= this.kafka.admin();
      await this.probeAdmin.connect();
      const now = this.now();
      for (const stream of this.opts.streams) {
        const offsets = await this.probeAdmin.fetchTopicOffsets(stream.topic);
        for (const o of offsets) {
          const key = tpKey(stream.topic, o.partition);
          const high = Number(o.high);
          this.highWatermarks.set(key, high);
          const applied = this.sink.nextOffset(stream.topic, o.partition) ?? this.startOffsets.get(key) ?? 0;
          this.stalls.observe(key, high, Math.max(applied, this.consumed.get(key) ?? 0), now);
        }
      }
    } catch (err) {
      this.log.debug({ err: (err as Error)?.message }, 'watermark probe failed');
      const a = this.probeAdmin;
      this.probeAdmin = null;
      void disconnectWithin(a, () => {});
      return;
    }
    const now = this.now();
    const stalled = this.stalls.stalled(now, this.stallRestartMs);
    if (stalled.length > 0 && now - this.lastStallRestartAt >= this.stallRestartMs && this.consumer) {
      this.lastStallRestartAt = now;
      this.retryLater(new Error(`partitions stopped advancing: ${stalled.slice(0, 8).join(', ')}`));
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

/** Disconnects a kafkajs client, giving up after a bound (a hung broker must not hang us). */
async function disconnectWithin(
  client: { disconnect(): Promise<void> } | null,
  onError: (err: unknown) => void,
): Promise<void> {
  if (!client) return;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, DISCONNECT_TIMEOUT_MS);
    timer.unref();
  });
  await Promise.race([client.disconnect().catch(onError), timeout]);
  clearTimeout(timer);
}
