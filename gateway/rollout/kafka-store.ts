import kafkajs, { type Consumer, type Kafka, type Producer } from 'kafkajs';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { backoffDelay } from '../source/backoff.ts';
import {
  createKafkaClient,
  groupId,
  type KafkaClientOptions,
  withCoordinatorCause,
} from '../source/kafka-client.ts';
import { classifyKafkaError } from '../source/kafka-failure.ts';
import type { KafkaHealth } from '../source/kafka-health.ts';
import { type CompiledRules, compileRules, type RolloutRules, rulesSchema } from './rules.ts';
import type { RolloutStore, RulesRecord } from './store.ts';

// Only some kafkajs exports are visible as ESM named imports; the rest come from the default export.
const { ConfigResourceTypes, Partitioners } = kafkajs;

const NO_CONTEXT = { tls: false, sasl: null, topics: [], groupPrefix: '', topicSetting: '' };

/** The one key of the control topic: compaction keeps only its last record. */
export const RULES_KEY = 'rules';

export interface KafkaRolloutStoreOptions extends KafkaClientOptions {
  topic: string;
  /** Create the topic (compacted) when it is missing. Off: never issue CreateTopics (least privilege). */
  createTopic?: boolean;
  defaults: RolloutRules;
  logger: Logger;
  /** Where failures are classified, logged once and exposed (/readyz, metrics). */
  health?: KafkaHealth;
  now?: () => number;
}

/**
 * Rollout rules shared by every instance through a compacted Kafka topic. Each instance reads
 * the topic from the beginning with a consumer group of its own and commits nothing, so after
 * any restart it rebuilds the last rules; the last record wins. A rules record's version is its
 * offset + 1, so versions only grow and a replayed or late record never undoes a newer one.
 * `publish()` produces (acks=all) and applies the rules locally at once; the other instances
 * apply them when they read the record (well under a second: fetches wait at most 250 ms).
 */
export class KafkaRolloutStore implements RolloutStore {
  readonly kind = 'kafka' as const;
  private readonly kafka: Kafka;
  private rules: CompiledRules;
  private readonly listeners: Array<(next: CompiledRules, prev: CompiledRules) => void> = [];
  private consumer: Consumer | null = null;
  private producer: Promise<Producer> | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private attempt = 0;
  /** Per partition: end offset seen at start, and the next offset read. */
  private readonly targets = new Map<number, number>();
  private readonly reached = new Map<number, number>();
  private started = false;
  private prepared = false;
  private isLoaded = false;
  private loadedWaiters: Array<() => void> = [];
  private readonly log: Logger;
  private readonly now: () => number;

  constructor(private readonly opts: KafkaRolloutStoreOptions) {
    this.now = opts.now ?? Date.now;
    this.rules = compileRules(opts.defaults, 0, null);
    this.log = opts.logger.child({ component: 'rollout-store', topic: opts.topic });
    this.kafka = createKafkaClient({ ...opts, clientId: `${opts.clientId}-rollout` }, this.log);
    opts.health?.describe('rollout', [opts.topic], 'ROLLOUT_TOPIC');
  }

  current(): CompiledRules {
    return this.rules;
  }

  loaded(): boolean {
    return this.isLoaded;
  }

  onChange(listener: (next: CompiledRules, prev: CompiledRules) => void): void {
    this.listeners.push(listener);
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

  async publish(record: RulesRecord): Promise<CompiledRules> {
    let offset: number;
    try {
      const producer = await this.connectProducer();
      const [meta] = await producer.send({
        topic: this.opts.topic,
        acks: -1,
        messages: [{ key: RULES_KEY, value: JSON.stringify(record) }],
      });
      offset = Number(meta?.baseOffset ?? Number.NaN);
      if (!Number.isSafeInteger(offset)) throw new Error('the broker returned no offset');
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
        `rollout rules not published: ${why.cause}; check ${why.check}`,
      );
      throw new GatewayError('CONTROL_UNAVAILABLE', `rollout rules were not published: ${why.cause}`, {
        cause: err,
        retryAfterSeconds: 2,
      });
    }
    this.apply(record.rules, offset + 1, record.updatedAt);
    return this.rules;
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

  /** Applies rules if they are newer than those in force, and tells the listeners. */
  private apply(rules: RolloutRules, version: number, updatedAt: number | null): void {
    if (version <= this.rules.version) return;
    const prev = this.rules;
    this.rules = compileRules(rules, version, updatedAt);
    this.log.info(
      { version, percent: rules.percent, killSwitch: rules.killSwitch },
      'rollout rules in force',
    );
    for (const l of this.listeners) {
      try {
        l(this.rules, prev);
      } catch (err) {
        this.log.error({ err }, 'rollout listener failed');
      }
    }
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
          if (m.key?.toString() !== RULES_KEY) continue;
          this.readRecord(m.value, Number(m.offset));
        }
        const next = Math.max(Number(batch.lastOffset()) + 1, this.reached.get(batch.partition) ?? 0);
        this.reached.set(batch.partition, next);
        this.checkLoaded();
      },
    });
  }

  private readRecord(value: Buffer | null, offset: number): void {
    if (value === null) {
      this.apply(this.opts.defaults, offset + 1, null);
      return;
    }
    try {
      const parsed = JSON.parse(value.toString('utf8')) as { rules?: unknown; updatedAt?: unknown };
      const rules = rulesSchema.parse(parsed.rules);
      const updatedAt = typeof parsed.updatedAt === 'number' ? parsed.updatedAt : null;
      this.apply(rules, offset + 1, updatedAt);
    } catch (err) {
      // A record written by hand or by another version: keep the rules in force.
      this.log.warn({ offset, err: (err as Error).message.slice(0, 300) }, 'invalid rollout record skipped');
    }
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
    this.log.debug({ version: this.rules.version, at: this.now() }, 'rollout rules loaded');
  }
}
