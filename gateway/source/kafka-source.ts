import type { Admin, Kafka } from 'kafkajs';
import type { StreamConfig } from '../config/streams.ts';
import type { Logger } from '../observability/logger.ts';
import { createKafkaClient, type KafkaClientOptions } from './kafka-client.ts';
import { SESSION_FAILURES } from './kafka-failure.ts';
import type { KafkaHealth } from './kafka-health.ts';
import { lineageOf, TopicIdentityReader } from './kafka-lineage.ts';
import {
  disconnectWithin,
  MAX_WAIT_MS,
  TOPIC_AUTHORIZATION_FAILED,
  TopicAuthorizationError,
  TopicMissingError,
  TopicReader,
} from './topic-reader.ts';
import type { RecordSink, RecordSource, SourceRecord, SourceStatus, TopicTrouble } from './types.ts';

export interface KafkaSourceOptions extends KafkaClientOptions {
  streams: readonly StreamConfig[];
  logger: Logger;
  /** Where connection failures are classified, logged once and exposed (/readyz, metrics). */
  health?: KafkaHealth;
  now?: () => number;
  /** How often topic identities and high-water marks are probed (re-created topics, stalls). */
  probeIntervalMs?: number;
  /** A partition stuck this long gets its topic's consumer restarted (seeking back to the cache). */
  stallRestartMs?: number;
  /**
   * Async work a batch needs before the synchronous apply (fetching Schema Registry schemas:
   * gateway/formats/). Must not reject.
   */
  prepare?: (topic: string, records: readonly SourceRecord[]) => Promise<void>;
}

/**
 * Reads every partition of every configured topic, one {@link TopicReader} (one consumer) per
 * topic, so one unreadable topic never stops the others: it is reported in
 * `status().staleTopics` with a reason while the rest keep flowing, and recovers by itself.
 * Each instance holds the full state, so instances never split partitions.
 *
 * A probe every `probeIntervalMs` reads, for all topics at once, their identity (cluster id +
 * topic id: a re-created topic is read again from its start) and their high-water marks (lag
 * metrics, and partitions stuck while the broker has more: those restart their topic's consumer).
 * Cost of the isolation: each topic has its own group membership, heartbeats and fetch sessions
 * (docs/kafka-records.md has the figures).
 */
export class KafkaSource implements RecordSource {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly readers: TopicReader[] = [];
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private readonly highWatermarks = new Map<string, number>();
  private probeTimer: NodeJS.Timeout | null = null;
  private adminClient: Promise<Admin> | null = null;
  private readonly identities: TopicIdentityReader;
  /** Set when the broker cannot answer Metadata v12 (no topic ids): lineage is the cluster id. */
  private noTopicIds = false;
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
    this.identities = new TopicIdentityReader(this.kafka);
    opts.health?.describe(
      'source',
      opts.streams.map((s) => s.topic),
      'STREAMS',
    );
  }

  /**
   * The health report as the topic readers see it: a reader that fetches does not clear the
   * source's problem while another reader still cannot read its topic (missing, or refused by
   * ACLs), or a healthy topic would hide a broken one at every fetch.
   */
  private readonly readerHealth: Pick<KafkaHealth, 'failed' | 'recovered' | 'offsetsOutOfRange'> = {
    failed: (component, err, extra) => this.opts.health!.failed(component, err, extra),
    offsetsOutOfRange: (stream) => this.opts.health?.offsetsOutOfRange(stream),
    recovered: (component) => {
      if (!this.readers.some((r) => r.blockedByBroker)) this.opts.health?.recovered(component);
    },
  };

  async start(sink: RecordSink): Promise<void> {
    for (const stream of this.opts.streams) {
      const reader = new TopicReader({
        kafka: this.kafka,
        stream,
        sink,
        groupPrefix: this.opts.groupPrefix ?? this.opts.clientId,
        health: this.opts.health ? this.readerHealth : undefined,
        prepare: this.opts.prepare,
        maxRetryMs: this.opts.maxRetryMs,
        stallRestartMs: this.stallRestartMs,
        logger: this.log,
        now: this.now,
        highWatermarks: this.highWatermarks,
        identify: (topic) => this.identify(topic),
        admin: () => this.admin(),
      });
      this.readers.push(reader);
      reader.start();
    }
    this.probeTimer = setInterval(() => void this.probe(), this.probeIntervalMs);
    this.probeTimer.unref();
  }

  status(): SourceStatus {
    // The broker answers as long as any topic fetches; a topic that does not is in staleTopics.
    let lastFetchAt: number | null = null;
    let consumerFetchAt: number | null = null;
    const staleTopics = new Map<string, TopicTrouble>();
    for (const r of this.readers) {
      if (r.lastFetchAt !== null && (lastFetchAt === null || r.lastFetchAt > lastFetchAt))
        lastFetchAt = r.lastFetchAt;
      if (
        r.lastConsumerFetchAt !== null &&
        (consumerFetchAt === null || r.lastConsumerFetchAt > consumerFetchAt)
      )
        consumerFetchAt = r.lastConsumerFetchAt;
      if (r.trouble) staleTopics.set(r.topic, r.trouble);
    }
    // Connected means a consumer fetched, not a login or a metadata call (issue 12), and no
    // session-level failure since: a re-login refused after a password rotation (KIP-368) must
    // not read as connected for the seconds until the fetch window runs out.
    const reason = this.opts.health?.failingWith('source') ?? null;
    const connected =
      consumerFetchAt !== null &&
      this.now() - consumerFetchAt < 20 * MAX_WAIT_MS + 5000 &&
      (reason === null || !SESSION_FAILURES.has(reason));
    return {
      connected,
      lastFetchAt,
      freshAsOf: lastFetchAt,
      highWatermarks: this.highWatermarks,
      staleTopics,
    };
  }

  /** Idempotent and single-flight: every caller awaits the same stop. Bounded in time. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      if (this.probeTimer) clearInterval(this.probeTimer);
      const admin = this.adminClient;
      this.adminClient = null;
      await Promise.all([
        ...this.readers.map((r) => r.stop()),
        this.identities.close(),
        admin?.then((a) => disconnectWithin(a, () => {})).catch(() => {}),
      ]);
    })();
    return this.stopped;
  }

  /** The shared admin (planning, probes), connected on first use and again after a failure. */
  private admin(): Promise<Admin> {
    this.adminClient ??= (async () => {
      const a = this.kafka.admin();
      try {
        await a.connect();
      } catch (err) {
        this.adminClient = null;
        throw err;
      }
      return a;
    })();
    return this.adminClient;
  }

  private async identify(topic: string): Promise<string> {
    if (this.noTopicIds) return this.clusterOnlyLineage(topic);
    let ids: Awaited<ReturnType<TopicIdentityReader['read']>>;
    try {
      ids = await this.identities.read([topic]);
    } catch (err) {
      // Brokers before 3.1 cannot answer Metadata v12 (NoTopicIdsError, code 35): the cluster id
      // alone then, so re-created topics go unnoticed there (docs/kafka-records.md).
      if ((err as { code?: number }).code !== 35) throw err;
      this.noTopicIds = true;
      this.log.warn(
        { err: (err as Error).message },
        'no topic ids from this broker: re-created topics will not be noticed',
      );
      return this.clusterOnlyLineage(topic);
    }
    // Without Describe the broker names the topic with TOPIC_AUTHORIZATION_FAILED and no id:
    // that is an ACL to fix, not a missing topic.
    if (ids.topics.get(topic)?.errorCode === TOPIC_AUTHORIZATION_FAILED)
      throw new TopicAuthorizationError(topic);
    const lineage = lineageOf(ids, topic);
    if (lineage === null) throw new TopicMissingError(topic);
    return lineage;
  }

  private async clusterOnlyLineage(topic: string): Promise<string> {
    const admin = await this.admin();
    const { clusterId } = await admin.describeCluster();
    if ((await admin.listTopics()).includes(topic)) return `${clusterId}/-`;
    throw new TopicMissingError(topic);
  }

  /**
   * Reads every topic's identity and high-water marks and shows them to its reader. A failed
   * probe changes nothing: the fetch clock already tells when the broker is gone.
   */
  private async probe(): Promise<void> {
    if (this.stopping || this.readers.length === 0) return;
    try {
      if (this.noTopicIds) return;
      const ids = await this.identities.read(this.readers.map((r) => r.topic));
      const admin = await this.admin();
      for (const r of this.readers) {
        if (this.stopping) return;
        const lineage = lineageOf(ids, r.topic);
        const offsets =
          lineage === null || !r.planned
            ? []
            : (await admin.fetchTopicOffsets(r.topic)).map((o) => ({
                partition: o.partition,
                high: Number(o.high),
              }));
        r.observe(lineage, offsets);
      }
    } catch (err) {
      this.log.debug({ err: (err as Error)?.message }, 'topic probe failed');
      const a = this.adminClient;
      this.adminClient = null;
      void a?.then((x) => disconnectWithin(x, () => {})).catch(() => {});
    }
  }
}
