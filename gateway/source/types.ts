/**
 * The narrow interface between the cache and wherever records come from (Kafka, the demo
 * generator, tests). A source delivers records of one topic-partition in offset order.
 */
export interface SourceRecord {
  topic: string;
  partition: number;
  offset: number;
  key: Buffer | null;
  /** null: a tombstone. */
  value: Buffer | null;
  /** Record timestamp, epoch ms. */
  timestamp: number;
}

/** Where a partition starts being read, and where "caught up" is for readiness. */
export interface PartitionPlan {
  topic: string;
  partition: number;
  /** First offset this instance reads. */
  startOffset: number;
  /** The high-water mark seen at start: readiness waits until the position reaches it. */
  highWatermark: number;
}

/** What a source feeds. Implemented by the snapshot cache (through the gateway wiring). */
export interface RecordSink {
  /** Identity of a topic's data (Kafka: cluster id + topic id; demo: a random id per run). Called before
   * plan() for the topic's partitions. A later call with a different value means the data was replaced
   * (topic re-created, offsets reset): the sink drops the topic's state and history, and the source
   * plans its partitions again from their start. Event ids carry the lineage (docs/protocol.md). */
  lineage(topic: string, lineage: string): void;
  /** Called once per partition before its first records (and for partitions added later). */
  plan(p: PartitionPlan): void;
  /**
   * Records of one partition in offset order. `consumedTo`, when given, is the offset after the
   * last one the source went past, records it does not deliver included (transaction markers,
   * aborted records): the partition's position moves there even if no record is applied.
   * Returns nothing: the sink never throws at a source.
   */
  apply(topic: string, partition: number, records: readonly SourceRecord[], consumedTo?: number): void;
  /** The next offset the sink needs for a partition, to resume after a reconnect without loss. */
  nextOffset(topic: string, partition: number): number | undefined;
  /**
   * How far back the sink keeps updates for resume (HISTORY_SECONDS, HISTORY_MAX_RECORDS). A
   * source that can read by time starts a bounded stream (a Kafka feed) at least that far back,
   * so a fresh instance can replay to a client that was reading another one. Absent: no need.
   */
  historyWindow?(): HistoryWindow;
}

/** See RecordSink.historyWindow. */
export interface HistoryWindow {
  /** Updates of the last this many ms are kept (0: none by time). */
  maxAgeMs: number;
  /** Never more than this many updates in all. */
  maxRecords: number;
}

export interface SourceStatus {
  /** Whether the source currently talks to its backend. */
  connected: boolean;
  /** Epoch ms of the last successful fetch (even an empty one); null before the first. */
  lastFetchAt: number | null;
  /**
   * Epoch ms up to which the served data is known complete: the last fetch, or earlier when a
   * partition lags without advancing. Staleness is measured from it; absent: `lastFetchAt`.
   */
  freshAsOf?: number | null;
  /** Per partition, the broker's last known high-water mark (for consumer-lag metrics). */
  highWatermarks: ReadonlyMap<string, number>;
  /**
   * Topics that cannot be read right now while others can (one bad topic never stops the rest),
   * by topic. Absent or empty: every topic reads.
   */
  staleTopics?: ReadonlyMap<string, TopicTrouble>;
}

/** Why one topic is not being read, and since when (epoch ms). */
export interface TopicTrouble {
  /** A stable word: see TOPIC_TROUBLE in gateway/source/topic-errors.ts. */
  reason: string;
  /** One line for people (the error message). */
  detail: string;
  since: number;
}

export interface RecordSource {
  readonly kind: 'kafka' | 'demo' | 'memory';
  /** Resolves once partitions are planned and consumption started. */
  start(sink: RecordSink): Promise<void>;
  /** Idempotent. */
  stop(): Promise<void>;
  status(): SourceStatus;
}

/** `topic/partition`, the key of per-partition maps. */
export function tpKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}
