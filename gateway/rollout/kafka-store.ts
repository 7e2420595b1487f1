import kafkajs, { type Consumer, type Kafka, type Producer } from 'kafkajs';
import { GatewayError } from '../errors.ts';
import type { ControlLog, ControlRecord } from '../fleet/control-log.ts';
import { FleetState, type ProcessIdentity } from '../fleet/state.ts';
import type { Logger } from '../observability/logger.ts';
import {
  createKafkaClient,
  groupId,
  type KafkaClientOptions,
  withCoordinatorCause,
} from '../source/kafka-client.ts';
import { type ProducerCompression, producerCompression } from '../source/kafka-codecs.ts';
import { classifyKafkaError } from '../source/kafka-failure.ts';
import type { KafkaHealth } from '../source/kafka-health.ts';
import { backoffDelay } from '../util/backoff.ts';
import type { RolloutRules } from './rules.ts';

// Only some kafkajs exports are visible as ESM named imports; the rest come from the default export.
const { ConfigResourceTypes, Partitioners } = kafkajs;

const NO_CONTEXT = { tls: false, sasl: null, topics: [], groupPrefix: '', topicSetting: '' };

export { RULES_KEY } from '../fleet/state.ts';

export interface KafkaControlLogOptions extends KafkaClientOptions {
  topic: string;
  /** Create the topic (compacted) when it is missing. Off: never issue CreateTopics (least privilege). */
  createTopic?: boolean;
  logger: Logger;
  /** Where failures are classified, logged once and exposed (/readyz, metrics). */
  health?: KafkaHealth;
  /** Codec of the rules records written (default: none). */
  compression?: ProducerCompression;
  now?: () => number;
}

export interface KafkaRolloutStoreOptions extends KafkaControlLogOptions {
  defaults: RolloutRules;
  identity?: ProcessIdentity;
}

/**
 * The fleet state (rollout rules, legacy routes, applied reports) on the Kafka control topic:
 * what createFleetState() builds when Kafka is configured. Kept under this name for the rollout
 * tests and tooling that construct it directly.
 */
export class KafkaRolloutStore extends FleetState {
  constructor(opts: KafkaRolloutStoreOptions) {
    super(new KafkaControlLog(opts), {
      defaults: opts.defaults,
      logger: opts.logger,
      now: opts.now ?? Date.now,
      identity: opts.identity ?? { instance: `rollout-${process.pid}`, worker: 0 },
    });
  }
}

/**
 * The control log on a compacted Kafka topic (ROLLOUT_TOPIC), shared by every worker of every
 * instance. Each process reads the topic from the beginning with a consumer group of its own and
 * commits nothing, so after any restart it rebuilds the last state; compaction keeps each key's
 * last record. `append()` produces with acks=all; every process (the writer included) reads the
 * record back well under a second later (fetches wait at most 250 ms).
 */
export class KafkaControlLog implements ControlLog {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private readonly handlers: Array<(r: ControlRecord) => void> = [];
  private consumer: Consumer | null = null;
  private producer: Promise<Producer> | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  /** Per partition: end offset seen at start, and the next offset read. */
  private readonly targets = new Map<number, number>();
  private readonly reached = new Map<number, number>();
  /** Next offset to hand over (a consumer restarted after a failure re-reads from the beginning). */
  private nextOffset = 0;
  private started = false;
  private prepared = false;
  private isLoaded = false;
  private loadedWaiters: Array<() => void> = [];
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly opts: KafkaControlLogOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ component: 'rollout-store', topic: opts.topic });
    this.kafka = createKafkaClient({ ...opts, clientId: `${opts.clientId}-rollout` }, this.log);
    opts.health?.describe('rollout', [opts.topic], 'ROLLOUT_TOPIC');
  }

  loaded(): boolean {
    return this.isLoaded;
  }

  onRecord(handler: (r: ControlRecord) => void): void {
    this.handlers.push(handler);
  }

  /** Starts reading the control topic in the background (retrying with backoff while Kafka is away). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.launch();
  }

  whenLoaded(timeoutMs: number): Promise<boolean> {
    if (this.isLoaded || this.stopping) return Promise.resolve(this.isLoaded);
    return new Promise<boolean>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.loadedWaiters = this.loadedWaiters.filter((w) => w !== done);
        resolve(this.isLoaded);
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.loadedWaiters.push(done);
    });
  }

  async append(key: string, value: string | null): Promise<number> {
    try {
      const producer = await this.connectProducer();
      const [meta] = await producer.send({
        topic: this.opts.topic,
        acks: -1,
        compression: producerCompression(this.opts.compression ?? 'none'),
        messages: [{ key, value }],
      });
      const offset = Number(meta?.baseOffset ?? Number.NaN);
      if (!Number.isSafeInteger(offset)) throw new Error('the broker returned no offset');
      return offset;
    } catch (err) {
      this.producer = null;
      // Said in words (e.g. no Write ACL on the topic), but not held as a problem: reading goes on.
      const why = classifyKafkaError(err, {
        tls: Boolean(this.opts.tls),
        sasl: this.opts.sasl?.mechanism ?? null,
        topics: [this.opts.topic],
        groupPrefix: this.opts.groupPrefix ?? this.opts.clientId,
        topicSetting: 'ROLLOUT_TOPIC',
      });
      this.log.warn(
        { reason: why.reason, err: why.detail },
        `control record not published: ${why.cause}; check ${why.check}`,
      );
      throw new GatewayError('CONTROL_UNAVAILABLE', why.cause, { cause: err, retryAfterSeconds: 2 });
    }
  }

  /** Idempotent and single-flight. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      for (const w of this.loadedWaiters.splice(0)) w();
      const c = this.consumer;
      this.consumer = null;
      const p = this.producer;
      this.producer = null;
      await Promise.all([c?.disconnect().catch(() => {}), p?.then((x) => x.disconnect()).catch(() => {})]);
    })();
    return this.stopped;
  }

  private connectProducer(): Promise<Producer> {
    if (this.stopping) return Promise.reject(new Error('the store is stopped'));
    this.producer ??= (async () => {
      const p = this.kafka.producer({
        createPartitioner: Partitioners.DefaultPartitioner,
        allowAutoTopicCreation: false,
      });
      await p.connect();
      return p;
    })();
    return this.producer;
  }

  private launch(): void {
    this.retryTimer = null;
    if (this.stopping) return;
    this.run().catch((err: unknown) => this.retryLater(err));
  }

  private retryLater(err: unknown): void {
    if (this.stopping) return;
    const delay = backoffDelay(this.attempt++, 250, this.opts.maxRetryMs);
    if (this.opts.health) this.opts.health.failed('rollout', err, { retryInMs: delay });
    else
      this.log.warn({ err: (err as Error)?.message, delayMs: delay }, 'rollout topic unavailable; retrying');
    const c = this.consumer;
    this.consumer = null;
    void c?.disconnect().catch(() => {});
    this.retryTimer = setTimeout(() => this.launch(), delay);
    this.retryTimer.unref();
  }

  private async run(): Promise<void> {
    await this.prepareTopic();
    const consumer = this.kafka.consumer({
      groupId: groupId(this.opts.groupPrefix ?? this.opts.clientId, 'rollout'),
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.retryLater(withCoordinatorCause(e.payload.error, e.payload.groupId));
    });
    consumer.on(consumer.events.FETCH, () => {
      this.attempt = 0;
      this.opts.health?.recovered('rollout');
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    if (this.stopping) return;
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) {
          const offset = Number(m.offset);
          if (offset < this.nextOffset || m.key === null) continue;
          this.nextOffset = offset + 1;
          const r = {
            key: m.key.toString(),
            value: m.value === null ? null : m.value.toString('utf8'),
            offset,
          };
          for (const h of this.handlers) {
            try {
              h(r);
            } catch (err) {
              this.log.error({ err }, 'control record handler failed');
            }
          }
        }
        const next = Math.max(Number(batch.lastOffset()) + 1, this.reached.get(batch.partition) ?? 0);
        this.reached.set(batch.partition, next);
        this.checkLoaded();
      },
    });
  }

  /**
   * Notes where "caught up" is (first run only). A missing topic is created (compacted) only with
   * `createTopic`; otherwise it is a failure like any other, retried with backoff, so a principal
   * without Create rights never sends CreateTopics.
   */
  private async prepareTopic(): Promise<void> {
    if (this.prepared) return;
    // Few retries: the outer loop backs off, and a missing topic should be said soon.
    const admin = this.kafka.admin({ retry: { retries: 1 } });
    await admin.connect();
    try {
      let offsets: Awaited<ReturnType<typeof admin.fetchTopicOffsets>>;
      try {
        offsets = await admin.fetchTopicOffsets(this.opts.topic);
        if (this.opts.createTopic) await this.checkCompacted(admin);
      } catch (err) {
        if (!this.opts.createTopic || classifyKafkaError(err, NO_CONTEXT).reason !== 'unknown_topic')
          throw err;
        this.log.info('creating the rollout topic (ROLLOUT_CREATE_TOPIC=true)');
        await admin.createTopics({
          topics: [
            {
              topic: this.opts.topic,
              numPartitions: 1,
              configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
            },
          ],
          waitForLeaders: true,
        });
        offsets = await admin.fetchTopicOffsets(this.opts.topic);
      }
      for (const o of offsets)
        if (Number(o.high) > Number(o.low)) this.targets.set(o.partition, Number(o.high));
      this.prepared = true;
      this.checkLoaded();
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  private async checkCompacted(admin: ReturnType<Kafka['admin']>): Promise<void> {
    try {
      const d = await admin.describeConfigs({
        resources: [
          { type: ConfigResourceTypes.TOPIC, name: this.opts.topic, configNames: ['cleanup.policy'] },
        ],
        includeSynonyms: false,
      });
      const policy = d.resources[0]?.configEntries[0]?.configValue ?? '';
      if (!policy.includes('compact'))
        this.log.warn(
          { policy },
          'the rollout topic is not compacted: the last rules may expire with retention',
        );
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'could not read the rollout topic config');
    }
  }

  private checkLoaded(): void {
    if (this.isLoaded || !this.prepared) return;
    for (const [p, high] of this.targets) if ((this.reached.get(p) ?? 0) < high) return;
    this.markLoaded();
  }

  private markLoaded(): void {
    this.isLoaded = true;
    for (const w of this.loadedWaiters.splice(0)) w();
    this.log.debug({ offset: this.nextOffset, at: this.now() }, 'control topic read');
  }
}
