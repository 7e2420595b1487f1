import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { StreamConfig } from '../config/streams.ts';
import type { Logger } from '../observability/logger.ts';
import { backoffDelay } from '../util/backoff.ts';
import { groupId, onOffsetOutOfRange, withCoordinatorCause } from './kafka-client.ts';
import type { KafkaHealth } from './kafka-health.ts';
import { StallDetector } from './stall-detector.ts';
import { classifyTopicError, type TopicTroubleReason } from './topic-errors.ts';
import { type RecordSink, type SourceRecord, type TopicTrouble, tpKey } from './types.ts';

/** How long the broker may hold a fetch open; also bounds how fast staleness is noticed. */
export const MAX_WAIT_MS = 250;
/** A consumer or admin that does not disconnect within this is abandoned (never blocks shutdown). */
const DISCONNECT_TIMEOUT_MS = 3000;

/** Troubles only a completed re-read of the topic clears (not the next fetch that decodes). */
const REREAD_TROUBLES: ReadonlySet<string> = new Set(['topic_replaced', 'offsets_out_of_range']);

export interface TopicReaderOptions {
  kafka: Kafka;
  stream: StreamConfig;
  sink: RecordSink;
  /** Prefix of the consumer's group id (KAFKA_GROUP_PREFIX, else the client id). */
  groupPrefix: string;
  /** Connection-level failures (broker, TLS, login) are reported there too (issue 12). */
  health?: Pick<KafkaHealth, 'failed' | 'recovered' | 'offsetsOutOfRange'>;
  maxRetryMs: number;
  stallRestartMs: number;
  logger: Logger;
  now: () => number;
  /** Per `topic/partition`, the broker's last known high-water mark (shared with the source). */
  highWatermarks: Map<string, number>;
  /** The topic's lineage (`<cluster id>/<topic id>`); throws when the topic does not exist. */
  identify(topic: string): Promise<string>;
  /** An admin to plan with (the source's, shared). */
  admin(): Promise<Admin>;
  /** Async work a batch needs before the synchronous apply (Schema Registry schemas). Never rejects. */
  prepare?: (topic: string, records: readonly SourceRecord[]) => Promise<void>;
}

/** Thrown by `identify` when the broker knows no such topic. */
/** Kafka's error code for a topic this principal may not describe (Metadata answers). */
export const TOPIC_AUTHORIZATION_FAILED = 29;

/** The broker refuses this principal the topic (no Describe): thrown by the lineage probe. */
export class TopicAuthorizationError extends Error {
  readonly type = 'TOPIC_AUTHORIZATION_FAILED';
  constructor(topic: string) {
    super(`not authorized to access topics: [${topic}]`);
    this.name = 'TopicAuthorizationError';
  }
}

export class TopicMissingError extends Error {
  readonly type = 'UNKNOWN_TOPIC_OR_PARTITION';
  constructor(topic: string) {
    super(`topic ${topic} does not exist`);
    this.name = 'TopicMissingError';
  }
}

/**
 * Reads one topic with a consumer of its own, so whatever goes wrong with this topic (a codec
 * refused, a corrupt batch, the topic deleted, access lost) fails this reader only: it marks the
 * topic in trouble with a reason, retries with backoff, and clears the trouble by itself at its
 * next successful fetch. Where it starts: `table` streams from the earliest retained offset,
 * `feed` streams from their last `maxItems` records per partition, or from the start of the
 * cache's history window when that is earlier (see `plan`).
 *
 * Each consumer is alone in a group of its own and commits nothing; after any restart it seeks
 * every partition back to the cache's own position (no record skipped; the cache drops offsets
 * it already has, so none is applied twice). The topic's lineage (cluster id + topic id) is
 * checked before planning: a new one means the topic was re-created, and it is read again from
 * its start (the sink drops the old state). So is a topic whose next offset was deleted before it
 * was read (retention, `deleteRecords`): kafkajs would silently skip to the earliest offset.
 */
export class TopicReader {
  readonly topic: string;
  private consumer: Consumer | null = null;
  private stopping = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  /** Epoch ms of this reader's last successful fetch (or planning call). */
  lastFetchAt: number | null = null;
  /** Epoch ms of the consumer's last fetch: what `connected` means. */
  lastConsumerFetchAt: number | null = null;
  private lineage: string | null = null;
  /** Per partition, where this instance started reading it (set by plan). */
  private readonly startOffsets = new Map<number, number>();
  /** Per partition, the offset after the last one the consumer went past (control records included). */
  private readonly consumed = new Map<number, number>();
  /**
   * A feed's first read, before its partitions are planned: per partition, the records read so far
   * from a tentative start. Markers and aborted records take offsets without being items, so the
   * last `maxItems` offsets may hold fewer items: the start then moves back until they hold enough
   * (or reach the low watermark), and only then is the topic planned (docs/kafka-records.md).
   */
  private backfill: Map<number, Backfill> | null = null;
  /** While re-reading a replaced topic: per partition, where that read is complete. */
  private rereadTargets: Map<number, number> | null = null;
  private readonly stalls = new StallDetector();
  private lastStallRestartAt = 0;
  private troubleState: TopicTrouble | null = null;
  private readonly log: Logger;
  /** Set when the consumer's next offset was gone: the next run reads the topic again. */
  private lostRecords = false;
  /** Times records were lost under this reader (numbers the lineage's loss tag). */
  private losses = 0;
  private stopWatching: (() => void) | null = null;

  constructor(private readonly opts: TopicReaderOptions) {
    this.topic = opts.stream.topic;
    this.log = opts.logger.child({ stream: opts.stream.name, topic: this.topic });
  }

  /** Why the topic is not being read, or null when it reads fine. */
  /** Whether the broker keeps this reader from its topic (missing, or refused by ACLs). */
  get blockedByBroker(): boolean {
    const r = this.troubleState?.reason;
    return r === 'topic_missing' || r === 'not_authorized';
  }

  get trouble(): TopicTrouble | null {
    return this.troubleState;
  }

  /** True once the partitions were planned (the first time the topic was found). */
  get planned(): boolean {
    return this.startOffsets.size > 0;
  }

  start(): void {
    this.launch();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stopWatching?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const c = this.consumer;
    this.consumer = null;
    await disconnectWithin(c, (err) => this.log.warn({ err }, 'consumer disconnect failed'));
  }

  /**
   * What the source's periodic probe saw: the topic's lineage (null: the topic is missing) and
   * its high-water marks. Notices a re-created or deleted topic and partitions that lag without
   * advancing.
   */
  observe(lineage: string | null, offsets: ReadonlyArray<{ partition: number; high: number }>): void {
    if (this.stopping) return;
    if (lineage === null) {
      if (this.planned) this.setTrouble('topic_missing', `topic ${this.topic} does not exist`);
      return;
    }
    if (lineage === this.lineage && this.troubleState?.reason === 'topic_missing') this.clearTrouble();
    if (this.lineage !== null && lineage !== this.lineage) {
      this.attempt = 0;
      this.retryLater(new Error(`topic ${this.topic} was re-created`), this.consumer, 0, 'topic_replaced');
      return;
    }
    const now = this.opts.now();
    for (const o of offsets) {
      const key = tpKey(this.topic, o.partition);
      this.opts.highWatermarks.set(key, o.high);
      const applied =
        this.opts.sink.nextOffset(this.topic, o.partition) ?? this.startOffsets.get(o.partition) ?? 0;
      this.stalls.observe(key, o.high, Math.max(applied, this.consumed.get(o.partition) ?? 0), now);
    }
    const stalled = this.stalls.stalled(now, this.opts.stallRestartMs);
    const stuckSince = this.stalls.stuckSince();
    if (stuckSince !== null && this.troubleState === null)
      this.setTrouble('stalled', 'partitions lag behind the broker without advancing', stuckSince);
    else if (stuckSince === null && this.troubleState?.reason === 'stalled') this.clearTrouble();
    if (stalled.length > 0 && now - this.lastStallRestartAt >= this.opts.stallRestartMs && this.consumer) {
      this.lastStallRestartAt = now;
      const err = new Error(`partitions stopped advancing: ${stalled.slice(0, 8).join(', ')}`);
      this.retryLater(err, this.consumer, undefined, 'stalled');
    }
  }

  private launch(): void {
    this.retryTimer = null;
    if (this.stopping) return;
    this.run().catch((err: unknown) => this.retryLater(err));
  }

  /**
   * Ends the consumer `failed` (if current) and starts a new one after a backoff (or `delayMs`);
   * the topic is in trouble meanwhile, for `reason` or the error's classification.
   */
  private retryLater(
    err: unknown,
    failed: Consumer | null = this.consumer,
    delayMs?: number,
    why?: TopicTroubleReason,
  ): void {
    if (this.stopping || failed !== this.consumer || this.retryTimer) return;
    const delay = delayMs ?? backoffDelay(this.attempt++, 250, this.opts.maxRetryMs);
    const { reason, detail } = why
      ? { reason: why, detail: (err as Error).message }
      : classifyTopicError(err);
    this.setTrouble(reason, detail);
    // What concerns the connection rather than this topic's data goes to the Kafka health report.
    if (
      reason === 'broker_unreachable' ||
      reason === 'not_authorized' ||
      reason === 'topic_missing' ||
      reason === 'error'
    )
      this.opts.health?.failed('source', err, { retryInMs: delay });
    this.lastConsumerFetchAt = null;
    this.stopWatching?.();
    this.log.debug({ reason, err: (err as Error)?.message, delayMs: delay }, 'topic reader failed; retrying');
    this.consumer = null;
    void disconnectWithin(failed, () => {});
    this.retryTimer = setTimeout(() => this.launch(), delay);
  }

  private setTrouble(reason: TopicTroubleReason, detail: string, since = this.opts.now()): void {
    if (this.troubleState?.reason === reason) return;
    // A stall says less than any error seen: it never hides one.
    if (reason === 'stalled' && this.troubleState !== null) return;
    // `topic_replaced` holds until the re-read completes; a failure meanwhile says more.
    this.troubleState = { reason, detail, since: this.troubleState?.since ?? since };
    this.log.warn({ reason, detail }, `stream ${this.opts.stream.name} is stale: ${reason}`);
  }

  private clearTrouble(): void {
    if (this.troubleState === null) return;
    const { reason, since } = this.troubleState;
    this.troubleState = null;
    this.log.info(
      { reason, staleMs: this.opts.now() - since },
      `stream ${this.opts.stream.name} reads again`,
    );
  }

  private async run(): Promise<void> {
    const lineage = await this.opts.identify(this.topic);
    if (this.stopping) return;
    if (this.troubleState?.reason === 'topic_missing') this.clearTrouble();
    if (lineage !== this.lineage) {
      if (this.lineage !== null) {
        this.startOffsets.clear();
        this.consumed.clear();
        this.setTrouble(
          'topic_replaced',
          `topic ${this.topic} was deleted and created again: reading it again`,
        );
        this.rereadTargets = new Map();
      }
      this.lineage = lineage;
      this.lostRecords = false;
      this.opts.sink.lineage(this.topic, lineage);
    } else if (this.lostRecords) await this.forgetLostData();
    if (!this.planned) await this.plan();
    if (this.stopping) return;
    const group = groupId(this.opts.groupPrefix);
    const consumer = this.opts.kafka.consumer({
      groupId: group,
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
    this.stopWatching = onOffsetOutOfRange(group, (topic, partition) => {
      if (topic === this.topic) this.offsetOutOfRange(consumer, partition);
    });
    // The new consumer starts over from the cache's position: what the old one went past is moot.
    this.consumed.clear();
    if (this.backfill)
      for (const b of this.backfill.values()) {
        b.records = [];
        b.next = b.start;
      }
    const { GROUP_JOIN, FETCH, CRASH, START_BATCH_PROCESS } = consumer.events;
    consumer.on(GROUP_JOIN, (e) => this.seekToCache(consumer, e.payload.memberAssignment));
    consumer.on(FETCH, () => {
      if (this.consumer !== consumer) return;
      this.lastFetchAt = this.opts.now();
      this.lastConsumerFetchAt = this.lastFetchAt;
      this.attempt = 0;
      this.opts.health?.recovered('source');
      // A fetch that decoded is the cause gone, for every trouble a fetch can show; a re-read, a
      // stall and a missing topic clear by what the probe and the re-read see.
      const r = this.troubleState?.reason;
      if (r !== undefined && !REREAD_TROUBLES.has(r) && r !== 'stalled' && r !== 'topic_missing')
        this.clearTrouble();
    });
    consumer.on(CRASH, (e) =>
      this.retryLater(withCoordinatorCause(e.payload.error, e.payload.groupId), consumer),
    );
    // Batches holding only transaction markers or aborted records never reach eachBatch: their
    // end still moves the position, or a partition ending with a marker would never be caught up.
    consumer.on(START_BATCH_PROCESS, (e) => {
      if (this.consumer !== consumer || e.payload.batchSize > 0) return;
      this.consumedTo(e.payload.partition, Number(e.payload.lastOffset) + 1, []);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: async ({ batch }) => {
        if (this.consumer !== consumer) return;
        this.opts.highWatermarks.set(tpKey(batch.topic, batch.partition), Number(batch.highWatermark));
        const records: SourceRecord[] = batch.messages.map((m) => ({
          topic: batch.topic,
          partition: batch.partition,
          offset: Number(m.offset),
          key: m.key,
          value: m.value,
          timestamp: Number(m.timestamp),
        }));
        await this.opts.prepare?.(batch.topic, records);
        if (this.consumer === consumer)
          this.consumedTo(batch.partition, Number(batch.lastOffset()) + 1, records);
      },
    });
  }

  /** Hands a partition's records and consumed position to the sink. */
  private consumedTo(partition: number, next: number, records: readonly SourceRecord[]): void {
    if (next > (this.consumed.get(partition) ?? 0)) this.consumed.set(partition, next);
    if (this.backfill) {
      this.backfillBatch(partition, next, records);
      return;
    }
    this.opts.sink.apply(this.topic, partition, records, next);
    this.checkReread();
  }

  /** A replaced topic is no longer stale once its re-read reached the marks seen when it began. */
  private checkReread(): void {
    const targets = this.rereadTargets;
    if (this.backfill || !targets || ![...targets].every(([p, t]) => (this.consumed.get(p) ?? 0) >= t))
      return;
    this.rereadTargets = null;
    const r = this.troubleState?.reason;
    if (r !== undefined && REREAD_TROUBLES.has(r)) this.clearTrouble();
  }

  /**
   * kafkajs found the consumer's next offset of `partition` out of range and is about to move it
   * to the earliest one, skipping whatever was deleted in between. The cache then holds data that
   * neither the topic nor a fresh instance has: counted, logged, and the topic read again from its
   * start under a new lineage (clients resync), stale meanwhile.
   */
  private offsetOutOfRange(consumer: Consumer, partition: number): void {
    if (this.consumer !== consumer) return;
    const position =
      this.opts.sink.nextOffset(this.topic, partition) ?? this.startOffsets.get(partition) ?? 0;
    this.lostRecords = true;
    this.opts.health?.offsetsOutOfRange(this.opts.stream.name);
    const detail = `offset ${position} of partition ${partition} is out of range (deleted by retention or deleteRecords before it was read): reading the topic again, clients resync`;
    this.log.warn(
      { reason: 'offsets_out_of_range', partition, position },
      `stream ${this.opts.stream.name}: ${detail}`,
    );
    this.attempt = 0;
    this.retryLater(new Error(detail), consumer, 0, 'offsets_out_of_range');
  }

  /** After records were lost: drops the cache's state (new lineage) and plans from the log start. */
  private async forgetLostData(): Promise<void> {
    const admin = await this.opts.admin();
    const starts = (await admin.fetchTopicOffsets(this.topic))
      .sort((a, b) => a.partition - b.partition)
      .map((o) => o.low)
      .join('.');
    if (this.stopping) return;
    this.lostRecords = false;
    // Appended to the lineage (`~<log starts>#<n>`): the data held now differs from what clients
    // were shown, so their ids must resync.
    const lossTag = `~${starts}#${++this.losses}`;
    this.startOffsets.clear();
    this.consumed.clear();
    this.backfill = null;
    this.rereadTargets = new Map();
    this.opts.sink.lineage(this.topic, `${this.lineage}${lossTag}`);
  }

  /**
   * Reads low/high watermarks and tells the sink where each partition starts: a table at once, a
   * feed once its first read found `maxItems` items per partition (see `backfill`). A feed starts
   * at its last `maxItems` records, or earlier at the first record of the sink's history window
   * (HISTORY_SECONDS, at most HISTORY_MAX_RECORDS shared by the partitions): those older records
   * only fill the history (the window keeps the newest `maxItems`), so a client that read another
   * instance up to that window ago resumes here without a resync. A table is read whole anyway.
   */
  private async plan(): Promise<void> {
    const admin = await this.opts.admin();
    const offsets = await admin.fetchTopicOffsets(this.topic);
    const { stream, sink } = this.opts;
    const window = stream.mode === 'feed' ? sink.historyWindow?.() : undefined;
    const byTime =
      window && window.maxAgeMs > 0 && window.maxRecords > 0
        ? new Map(
            (await admin.fetchTopicOffsetsByTimestamp(this.topic, this.opts.now() - window.maxAgeMs)).map(
              (o) => [o.partition, Number(o.offset)],
            ),
          )
        : null;
    const backfill = new Map<number, Backfill>();
    for (const o of offsets) {
      const low = Number(o.low);
      const high = Number(o.high);
      let start = stream.mode === 'table' ? low : Math.max(low, high - stream.maxItems);
      const since = byTime?.get(o.partition);
      if (window && since !== undefined)
        start = Math.min(start, Math.max(low, since, high - Math.ceil(window.maxRecords / offsets.length)));
      this.startOffsets.set(o.partition, start);
      this.opts.highWatermarks.set(tpKey(this.topic, o.partition), high);
      this.rereadTargets?.set(o.partition, high);
      backfill.set(o.partition, { low, start, high, next: start, records: [], done: start >= high });
    }
    if (stream.mode === 'feed' && [...backfill.values()].some((b) => !b.done)) this.backfill = backfill;
    else
      for (const [partition, b] of backfill)
        sink.plan({ topic: this.topic, partition, startOffset: b.start, highWatermark: b.high });
    // The broker answered: fresh from here (the cache may turn ready before the consumer fetches).
    this.lastFetchAt = this.opts.now();
    this.checkReread(); // an empty re-created topic is read at once
  }

  /** One batch of a feed's first read: collect, move the start back if too few items, plan when done. */
  private backfillBatch(partition: number, next: number, records: readonly SourceRecord[]): void {
    const backfill = this.backfill!;
    const b = backfill.get(partition);
    if (!b) return;
    for (const r of records) if (r.offset >= b.next) b.records.push(r);
    if (next > b.next) b.next = next;
    const maxItems = this.opts.stream.maxItems;
    if (!b.done && b.next >= b.high) {
      if (b.records.length >= maxItems || b.start <= b.low) b.done = true;
      else {
        // Twice as far back each time: a few rounds whatever the share of markers.
        b.start = Math.max(b.low, b.start - Math.max(maxItems, 2 * (b.high - b.start)));
        b.next = b.start;
        b.records = [];
        this.startOffsets.set(partition, b.start);
        this.consumer?.seek({ topic: this.topic, partition, offset: String(b.start) });
        return;
      }
    }
    if (![...backfill.values()].every((x) => x.done)) return;
    this.backfill = null;
    const { sink } = this.opts;
    for (const [p, x] of backfill)
      sink.plan({ topic: this.topic, partition: p, startOffset: x.start, highWatermark: x.high });
    for (const [p, x] of backfill) if (x.next > x.start) sink.apply(this.topic, p, x.records, x.next);
    this.checkReread();
  }

  private seekToCache(consumer: Consumer, assignment: Record<string, number[]>): void {
    for (const partition of assignment[this.topic] ?? []) {
      const offset =
        this.opts.sink.nextOffset(this.topic, partition) ?? this.startOffsets.get(partition) ?? 0;
      consumer.seek({ topic: this.topic, partition, offset: String(offset) });
    }
  }
}

/** A feed partition's first read (TopicReader.backfill). */
interface Backfill {
  low: number;
  /** Where the read starts (moves back while too few items were found). */
  start: number;
  /** The high-water mark (last stable offset) at planning: where the first read ends. */
  high: number;
  /** The offset after the last one read. */
  next: number;
  records: SourceRecord[];
  done: boolean;
}

/** Disconnects a kafkajs client, giving up after a bound (a hung broker must not hang us). */
export async function disconnectWithin(
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
