import type { KafkaConnectionConfig } from '../config/kafka-config.ts';
import type { Logger } from '../observability/logger.ts';
import {
  classifyKafkaError,
  type FailureContext,
  KAFKA_FAILURE_REASONS,
  type KafkaFailure,
  type KafkaFailureReason,
} from './kafka-failure.ts';

/** The parts of the gateway that talk to Kafka, each with its own client. */
export type KafkaComponent = 'source' | 'rollout' | 'dlq';

/** A failure in force: what `/readyz` shows under `kafka`. */
export interface KafkaProblem extends KafkaFailure {
  component: KafkaComponent;
  /** Epoch ms of the first failure with this reason. */
  since: number;
  /** Failures with this reason in a row. */
  count: number;
}

/** A still-failing component is logged again at warn this often (in between: debug). */
const REMIND_MS = 5 * 60_000;

/**
 * How long an explained failure (any reason but `other`) keeps explaining the unexplained ones
 * that follow it. A refused re-login cuts off the requests in flight, and kafkajs then reports
 * those with errors of their own (timeouts, rebalances); left to replace the diagnosis, they
 * would turn "check KAFKA_SASL_PASSWORD" into "the Kafka client failed" on /readyz while the
 * password is still wrong. Past this long without the explained failure, `other` is news again.
 */
const EXPLAINED_FOR_MS = 60_000;

/**
 * What Kafka health reports (a port: the source knows no metrics library; the prom-client adapter
 * is gateway/observability/kafka-metrics.ts, wired in by createGateway).
 */
export interface KafkaMetrics {
  /** One failure of a component, with its classified reason. */
  failed(component: KafkaComponent, reason: KafkaFailureReason): void;
  /** A component's problem in force is `reason` (called on every failure). */
  problemBegan(component: KafkaComponent, reason: KafkaFailureReason): void;
  /** A component's problem with `reason` is over (recovered, or replaced by another reason). */
  problemEnded(component: KafkaComponent, reason: KafkaFailureReason): void;
  /** A stream's next offset was gone from the broker. */
  offsetsOutOfRange(stream: string): void;
}

/**
 * The Kafka connection health of one gateway: each component reports its failures and its
 * recoveries here. A failure is classified (kafka-failure.ts), logged once at warn when its
 * reason changes (with the cause and the setting to check; repeats at debug, with a reminder every
 * 5 min), counted in `switchyard_kafka_failures_total{component,reason}` and held as the
 * component's problem (`switchyard_kafka_problem`, `/readyz`) until the component succeeds again.
 */
export class KafkaHealth {
  private readonly current = new Map<KafkaComponent, KafkaProblem & { loggedAt: number; lastAt: number }>();
  private readonly contexts = new Map<KafkaComponent, FailureContext>();
  private readonly metrics: KafkaMetrics | null;
  private readonly log: Logger;

  constructor(
    private readonly kafka: Pick<KafkaConnectionConfig, 'tls' | 'sasl' | 'groupPrefix'>,
    deps: { logger: Logger; metrics?: KafkaMetrics; now?: () => number },
  ) {
    this.log = deps.logger.child({ component: 'kafka' });
    this.metrics = deps.metrics ?? null;
    this.now = deps.now ?? Date.now;
    if (kafka.tls && !kafka.tls.checkHostname)
      this.log.warn(
        'KAFKA_TLS_CHECK_HOSTNAME=false: broker certificates are not checked against their host names (test clusters only)',
      );
  }

  private readonly now: () => number;

  /** Says which topics a component uses and where they are configured, for its failure messages. */
  describe(component: KafkaComponent, topics: readonly string[], topicSetting: string): void {
    this.contexts.set(component, {
      tls: this.kafka.tls !== null,
      sasl: this.kafka.sasl?.mechanism ?? null,
      groupPrefix: this.kafka.groupPrefix,
      topics,
      topicSetting,
    });
  }

  /** Reports a failed attempt; returns its classification. */
  failed(component: KafkaComponent, err: unknown, extra: { retryInMs?: number } = {}): KafkaFailure {
    const ctx = this.contexts.get(component) ?? {
      tls: this.kafka.tls !== null,
      sasl: this.kafka.sasl?.mechanism ?? null,
      groupPrefix: this.kafka.groupPrefix,
      topics: [],
      topicSetting: 'the topic settings',
    };
    const f = classifyKafkaError(err, ctx);
    const now = this.now();
    const prev = this.current.get(component);
    if (f.reason === 'other' && prev && prev.reason !== 'other' && now - prev.lastAt < EXPLAINED_FOR_MS) {
      this.metrics?.failed(component, f.reason);
      this.current.set(component, { ...prev, count: prev.count + 1 });
      this.log.debug(
        { kafkaComponent: component, reason: f.reason, err: f.detail, ...extra },
        `kafka ${component}: a failure while failing with ${prev.reason} (kept as the diagnosis)`,
      );
      return f;
    }
    const same = prev?.reason === f.reason;
    const problem = {
      ...f,
      component,
      since: same ? prev.since : now,
      count: same ? prev.count + 1 : 1,
      loggedAt: same ? prev.loggedAt : now,
      lastAt: now,
    };
    this.metrics?.failed(component, f.reason);
    if (prev && !same) this.metrics?.problemEnded(component, prev.reason);
    this.metrics?.problemBegan(component, f.reason);
    const fields = { kafkaComponent: component, reason: f.reason, check: f.check, err: f.detail, ...extra };
    if (!same || now - problem.loggedAt >= REMIND_MS) {
      problem.loggedAt = now;
      this.log.warn(
        { ...fields, failingForMs: now - problem.since },
        `kafka ${component}: ${f.cause}; check ${f.check}`,
      );
    } else this.log.debug(fields, `kafka ${component}: still failing (${f.reason})`);
    this.current.set(component, problem);
    return f;
  }

  /** Reports a success: the component's problem, if any, is over. */
  recovered(component: KafkaComponent): void {
    const prev = this.current.get(component);
    if (!prev) return;
    this.current.delete(component);
    this.metrics?.problemEnded(component, prev.reason);
    this.log.info(
      { kafkaComponent: component, reason: prev.reason, failedForMs: this.now() - prev.since },
      `kafka ${component}: working again`,
    );
  }

  /**
   * Counts a stream whose next offset was gone from the broker (deleted by retention or
   * `deleteRecords` before it was read): records were lost to it, and it reads its topic again.
   * The topic reader logs it and marks the stream stale (`offsets_out_of_range`).
   */
  offsetsOutOfRange(stream: string): void {
    this.metrics?.offsetsOutOfRange(stream);
  }

  /** The reason a component is failing now, or null (no allocation: read on every poll). */
  failingWith(component: KafkaComponent): KafkaFailureReason | null {
    return this.current.get(component)?.reason ?? null;
  }

  /** The problem of a component, if it is failing now. */
  problem(component: KafkaComponent): KafkaProblem | null {
    const p = this.current.get(component);
    if (!p) return null;
    const { loggedAt: _, lastAt: __, ...rest } = p;
    return rest;
  }

  /** Every component failing now, source first. */
  problems(): KafkaProblem[] {
    return (['source', 'rollout', 'dlq'] as const).flatMap((c) => this.problem(c) ?? []);
  }
}

export { KAFKA_FAILURE_REASONS, type KafkaFailureReason };
