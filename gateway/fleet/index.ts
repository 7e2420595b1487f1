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
  clusterReports,
  inClusterWorker,
  type Report,
  type ReportQuery,
  serveFigures,
  serveReport,
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
 * an extension's report (the legacy adapter's `/v1/admin/shadow`) of this process alone, or,
 * in a worker, of every worker of the instance (summed by the primary: counters and histograms
 * added, gauges by their aggregator, see GatewayMetrics; reports merged by their extension).
 */
export class FleetFigures {
  readonly stats: LatencyStats;
  private readonly clustered: boolean;
  private localReport: ((q: ReportQuery) => Report) | null = null;

  /**
   * @param opts.clustered whether to ask the cluster primary; default: when in a cluster worker.
   */
  constructor(
    private readonly metrics: GatewayMetrics,
    now: () => number,
    opts: { clustered?: boolean } = {},
  ) {
    this.stats = new LatencyStats(metrics, now);
    this.clustered = opts.clustered ?? inClusterWorker();
    if (this.clustered) serveReport((q) => (this.localReport === null ? null : this.localReport(q)));
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

  /**
   * Sets what this process answers when an extension asks every worker for its report (one
   * extension has one: the legacy adapter's shadow statistics).
   */
  serveReports(local: (q: ReportQuery) => Report): void {
    this.localReport = local;
  }

  /** The report of every worker of the instance (this process's alone outside a cluster). */
  async reports(query: ReportQuery): Promise<Report[]> {
    if (!this.clustered) return this.localReport === null ? [] : [this.localReport(query)];
    return (await clusterReports(query)).filter((r) => r !== null);
  }

  async latency(): Promise<LatencySummary & { workers: number }> {
    if (!this.clustered) return { ...(await this.stats.summary()), workers: 1 };
    const f = await clusterFigures();
    return { ...summariseWindows(f.latency), workers: f.workers };
  }
}
