import {
  mergeShadowReports,
  type ShadowQuery,
  type ShadowReport,
} from '../../legacy-adapter/shadow/report.ts';
import type { Config } from '../config/load.ts';
import { LatencyStats, type LatencySummary, summariseWindows } from '../observability/latency-stats.ts';
import type { Logger } from '../observability/logger.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import { KafkaControlLog } from '../rollout/kafka-store.ts';
import { defaultRules } from '../rollout/rules.ts';
import type { KafkaHealth } from '../source/kafka-health.ts';
import {
  ClusterControlLog,
  clusterFigures,
  clusterShadow,
  inClusterWorker,
  serveFigures,
  serveShadow,
} from './cluster-ipc.ts';
import { type ControlLog, MemoryControlLog } from './control-log.ts';
import { FleetState, type ProcessIdentity } from './state.ts';

/** Env var the cluster primary sets on each worker: its index, 1..WORKERS, kept across respawns. */
export const WORKER_INDEX_ENV = 'SWITCHYARD_WORKER_INDEX';

/** This process in the fleet: SWITCHYARD_INSTANCE (default `<hostname>:<PORT>`) and its worker index. */
export function processIdentity(config: Pick<Config, 'instance'>, env = process.env): ProcessIdentity {
  const worker = Number(env[WORKER_INDEX_ENV] ?? 0);
  return {
    instance: config.instance,
    worker: Number.isInteger(worker) && worker >= 0 ? worker : 0,
  };
}

/**
 * The fleet state of this process on the log its deployment has: the Kafka control topic when
 * Kafka is configured, else the cluster primary (embedded demo with WORKERS > 1), else memory.
 */
export function createFleetState(
  config: Config,
  deps: { logger: Logger; now: () => number; log?: ControlLog; kafkaHealth?: KafkaHealth | null },
): FleetState {
  // ROLLOUT_TOPIC=none: no control topic; the state stays with this instance (its primary or memory).
  const log =
    deps.log ??
    (config.kafka && config.rollout.topic !== null
      ? new KafkaControlLog({
          ...config.kafka,
          health: deps.kafkaHealth ?? undefined,
          topic: config.rollout.topic,
          createTopic: config.rollout.createTopic,
          logger: deps.logger,
          now: deps.now,
        })
      : inClusterWorker()
        ? new ClusterControlLog()
        : new MemoryControlLog());
  return new FleetState(log, {
    defaults: defaultRules(config.rollout.initialPercent),
    logger: deps.logger,
    now: deps.now,
    identity: processIdentity(config),
  });
}

/**
 * The figures an operator reads, whatever WORKERS is: `/metrics`, `/v1/stats/latency` and
 * `/v1/admin/shadow` of this process alone, or, in a worker, of every worker of the instance
 * (summed by the primary: counters and histograms added, gauges by their aggregator, see
 * GatewayMetrics; shadow reports merged by mergeShadowReports).
 */
export class FleetFigures {
  readonly stats: LatencyStats;
  private readonly clustered: boolean;
  private readonly localShadow: (q: ShadowQuery) => ShadowReport;

  /**
   * @param opts.shadow this process's shadow report (the legacy adapter's); default: no routes.
   * @param opts.clustered whether to ask the cluster primary; default: when in a cluster worker.
   */
  constructor(
    private readonly metrics: GatewayMetrics,
    now: () => number,
    opts: { clustered?: boolean; shadow?: (q: ShadowQuery) => ShadowReport } = {},
  ) {
    this.stats = new LatencyStats(metrics, now);
    this.clustered = opts.clustered ?? inClusterWorker();
    this.localShadow = opts.shadow ?? (() => ({ routes: {}, mismatches: [] }));
    if (this.clustered) serveShadow((q) => this.localShadow(q));
    if (this.clustered)
      serveFigures(async () => {
        for (const f of this.metrics.beforeScrape) f();
        const [metrics, latency] = await Promise.all([
          this.metrics.registry.getMetricsAsJSON(),
          this.stats.window(),
        ]);
        return { metrics, latency, pollers: this.metrics.pollerSketch?.() ?? null };
      });
  }

  start(): void {
    this.stats.start();
  }

  stop(): void {
    this.stats.stop();
  }

  /** The Prometheus text exposition (the one function /metrics calls: cache its result). */
  async metricsText(): Promise<string> {
    if (!this.clustered) return this.metrics.render();
    return (await clusterFigures()).text;
  }

  /** Shadow statistics and recent mismatches of every worker of the instance, merged. */
  async shadow(query: ShadowQuery): Promise<ShadowReport & { workers: number }> {
    if (!this.clustered) return { ...this.localShadow(query), workers: 1 };
    const reports = await clusterShadow(query);
    return { ...mergeShadowReports(reports, query.limit), workers: reports.length };
  }

  async latency(): Promise<LatencySummary & { workers: number }> {
    if (!this.clustered) return { ...(await this.stats.summary()), workers: 1 };
    const f = await clusterFigures();
    return { ...summariseWindows(f.latency), workers: f.workers };
  }
}
