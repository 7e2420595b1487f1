import { SelectionRegistry } from './cache/selection.ts';
import { SnapshotCache } from './cache/snapshot-cache.ts';
import { TtlSweeper } from './cache/ttl-sweeper.ts';
import type { CacheObserver } from './cache/types.ts';
import type { Config } from './config/load.ts';
import type { GatewayContext } from './context.ts';
import type { ExtensionFactory, GatewayExtension } from './extension.ts';
import type { ControlLog } from './fleet/control-log.ts';
import { createFleetState, FleetFigures } from './fleet/index.ts';
import { createSchemaFormats } from './formats/index.ts';
import { recordValidators } from './formats/record-schema.ts';
import { ResponseCounter } from './observability/http-metrics.ts';
import { promKafkaMetrics } from './observability/kafka-metrics.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { GatewayMetrics } from './observability/metrics.ts';
import { PollObserver } from './observability/poll-observer.ts';
import { promRolloutEvents } from './observability/rollout-events.ts';
import { promSecurityEvents } from './observability/security-events.ts';
import { promStreamMetrics } from './observability/stream-metrics.ts';
import { promTelemetryEvents } from './observability/telemetry-events.ts';
import { OverloadGuard } from './overload/guard.ts';
import { BodyCache } from './poll/versioned-body.ts';
import { statusEvent } from './protocol/events.ts';
import { createRollout } from './rollout/create.ts';
import { createDeadLetters, type DeadLetterSink } from './security/dead-letters.ts';
import { createExpiryWatch, streamAuthenticator } from './security/stream-access.ts';
import { type Service, service, startServices, stopServices } from './service.ts';
import { DemoSource } from './source/demo-source.ts';
import { KafkaHealth } from './source/kafka-health.ts';
import { KafkaSource, type KafkaSourceOptions } from './source/kafka-source.ts';
import { StalenessWatch, staleStreams, statusData } from './source/staleness-watch.ts';
import type { RecordSource } from './source/types.ts';
import { tpKey } from './source/types.ts';
import { SseHub } from './sse/hub.ts';
import { subscriberHooks } from './sse/stream-route.ts';

export interface GatewayOverrides {
  /** Record source; default: Kafka when configured, else the embedded demo feed. */
  source?: RecordSource;
  logger?: Logger;
  now?: () => number;
  random?: () => number;
  metrics?: GatewayMetrics;
  /** Where fleet state travels; default: the Kafka control topic, else the cluster primary, else memory. */
  controlLog?: ControlLog;
  /**
   * Parts mounted from outside the core (the legacy adapter, the client kit's routes), built
   * once the gateway exists; their routes are served by createApp and they start and stop
   * with the gateway. gateway/switchyard.ts decides which; default: none.
   */
  extensions?: readonly ExtensionFactory[];
}

/**
 * The composition root: builds every part of the gateway (cache, hub, source, metrics, and each
 * service with a timer or a connection) from a validated config, eagerly and wired, but not
 * started: nothing reads Kafka and nothing listens until `startGateway()`. Nothing is created
 * later on first use; `ctx.services` lists what `startGateway`/`stopGateway` start and stop.
 */
export function createGateway(config: Config, overrides: GatewayOverrides = {}): GatewayContext {
  const now = overrides.now ?? Date.now;
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const metrics = overrides.metrics ?? new GatewayMetrics();
  const kafkaHealth = config.kafka
    ? new KafkaHealth(config.kafka, { logger, metrics: promKafkaMetrics(metrics), now })
    : null;
  const securityEvents = promSecurityEvents(metrics);
  const deadLetters = createDeadLetters(config, logger, securityEvents, kafkaHealth ?? undefined);
  const observer = cacheObserver(metrics, logger, deadLetters);
  const formats = createSchemaFormats(config, logger, now);
  const cache = new SnapshotCache({
    streams: config.streams,
    historySize: {
      records: config.historySize,
      maxAgeMs: config.historyMaxAgeMs,
      maxRecords: config.historyMaxRecords,
    },
    now,
    observer,
    validators: recordValidators(config.streams),
    formats: formats ?? undefined,
  });
  const prepare = formats ? formats.prepare.bind(formats) : undefined;
  const source = overrides.source ?? defaultSource(config, logger, now, kafkaHealth, prepare);
  const streamMetrics = promStreamMetrics(metrics);
  const hub = new SseHub(cache, {
    heartbeatMs: config.heartbeatMs,
    retryMs: config.retryMs,
    random: overrides.random ?? Math.random,
    now,
    onDelivered: (u, clients, t) => {
      if (clients > 0) streamMetrics.delivered(t - u.createdAt);
    },
  });
  const fleet = createFleetState(config, { logger, now, log: overrides.controlLog, kafkaHealth });
  const metricsView = { config, metrics, random: overrides.random ?? Math.random };
  const overload = new OverloadGuard(metricsView);
  const responses = new ResponseCounter(metrics);
  const expiryWatch = createExpiryWatch(securityEvents, now);
  const services: Service[] = [];
  const extensions: GatewayExtension[] = [];
  const ctx: GatewayContext = {
    config,
    cache,
    hub,
    // With stream tokens on, stream names are not public: errors do not list them.
    selections: new SelectionRegistry(
      cache.streams,
      config.maxStreamsPerRequest,
      config.security.streamTokenSecrets.length === 0,
    ),
    source,
    metrics,
    streamMetrics,
    logger,
    bodies: new BodyCache(),
    polls: new PollObserver({ cache, metrics, now, pollIntervalMs: config.pollIntervalMs }),
    rollout: createRollout(config, { hub, events: promRolloutEvents(metrics), logger, now, store: fleet }),
    fleet,
    figures: new FleetFigures(metrics, now),
    kafkaHealth,
    extensions,
    overload,
    securityEvents,
    telemetryEvents: promTelemetryEvents(metrics),
    authenticateStream: streamAuthenticator({
      secrets: config.security.streamTokenSecrets,
      events: securityEvents,
      now,
    }),
    expiryWatch,
    responses,
    streamHooks: subscriberHooks({ hub, metrics: streamMetrics, overload, responses }),
    services,
    state: { draining: false, shutdown: null },
    now,
    random: overrides.random ?? Math.random,
    freshness() {
      const st = source.status();
      const last = st.freshAsOf !== undefined ? st.freshAsOf : st.lastFetchAt;
      const since = last === null ? null : now() - last;
      return { stale: since === null || since > config.staleAfterMs, sinceFetchMs: since };
    },
  };
  registerScrapeGauges(ctx);
  logReplacedData(ctx);
  // The watch only reports transitions; the SSE layer tells the open streams.
  const staleness = new StalenessWatch(ctx, logger);
  staleness.onChange(() => hub.broadcast(statusEvent(statusData(ctx))));
  const ttls = config.streams.map((s) => (s.mode === 'table' ? s.ttlMs : 0));
  // Start order; stopped in reverse: the dead letters flush after the source stopped feeding them.
  services.push(
    service('dead-letters', noop, () => deadLetters?.stop()),
    service(
      'rollout',
      () => ctx.rollout.start(),
      () => ctx.rollout.stop(),
    ),
    service(
      'fleet-figures',
      () => ctx.figures.start(),
      () => ctx.figures.stop(),
    ),
    service(
      'source',
      () => source.start(cache),
      () => source.stop(),
    ),
    staleness,
    new TtlSweeper(cache, ttls),
    overload,
    service('token-expiry', noop, () => expiryWatch.close()),
    service('sse-hub', noop, () => hub.close()),
  );
  // Extensions last: built from the finished gateway, started after it, stopped first.
  for (const build of overrides.extensions ?? []) extensions.push(build(ctx));
  services.push(...extensions);
  return ctx;
}

const noop = (): void => {};

/** Starts every service of the gateway, in order. Listening is the caller's job (main.ts or a test). */
export async function startGateway(ctx: GatewayContext): Promise<void> {
  await startServices(ctx.services);
}

/** Stops every service, in reverse order; idempotent. (Streams and the server are the lifecycle's job.) */
export async function stopGateway(ctx: Pick<GatewayContext, 'services'>): Promise<void> {
  await stopServices(ctx.services);
}

function defaultSource(
  config: Config,
  logger: Logger,
  now: () => number,
  health: KafkaHealth | null,
  prepare: KafkaSourceOptions['prepare'],
): RecordSource {
  if (!config.kafka) return new DemoSource(config.streams, config.demoRate, now);
  return new KafkaSource({
    ...config.kafka,
    streams: config.streams,
    logger,
    now,
    health: health ?? undefined,
    prepare,
  });
}

function cacheObserver(
  metrics: GatewayMetrics,
  logger: Logger,
  deadLetters: DeadLetterSink | null,
): CacheObserver {
  const log = logger.child({ component: 'cache' });
  return {
    applied(stream, createdAt, appliedAt) {
      metrics.recordsApplied.inc({ stream });
      metrics.ingestLatency.observe({ stream }, Math.max(0, appliedAt - createdAt) / 1000);
    },
    rejected(stream, reason, c, detail) {
      metrics.recordsRejected.inc({ stream, reason });
      log.warn(
        { stream, reason, topic: c.topic, partition: c.partition, offset: c.offset, detail },
        'record skipped',
      );
      deadLetters?.offer(stream, reason, detail, c);
    },
    evicted(stream, reason) {
      metrics.evictions.inc({ stream, reason });
    },
  };
}

/**
 * A stream whose topic was re-created drops its data and history and reads it again; the hub ends
 * every open stream showing it (`gateway-error` DATA_REPLACED + `retry:`), and their clients
 * come back with an id of the old lineage and get a resync (reason `lineage`). Logged here.
 */
function logReplacedData(ctx: GatewayContext): void {
  ctx.cache.onReplaced({
    before: (stream) => {
      const subs = [...ctx.hub.subscribers()].filter((sub) => sub.selection.includes(stream));
      ctx.logger.warn(
        { stream: stream.name, topic: stream.topic, streams: subs.length },
        'stream data replaced (topic re-created): reading it again; its clients resync',
      );
    },
    after: () => {},
  });
}

/** Gauges computed at scrape time from live state (no bookkeeping on the hot path). */
function registerScrapeGauges(ctx: GatewayContext): void {
  const { metrics: m, hub, cache, source } = ctx;
  m.beforeScrape.push(() => {
    m.sseConnections.set(hub.size);
    m.ready.set(cache.isReady() && !ctx.state.draining ? 1 : 0);
    m.sourceConnected.set(source.status().connected ? 1 : 0);
    const f = ctx.freshness();
    m.sourceStaleness.set(f.sinceFetchMs === null ? -1 : f.sinceFetchMs / 1000);
    const hw = source.status().highWatermarks;
    for (const s of cache.streams.values()) {
      let lag = 0;
      s.offsets.forEach((o, p) => {
        lag += Math.max(0, (hw.get(tpKey(s.topic, p)) ?? o) - o);
      });
      m.consumerLag.set({ stream: s.name }, lag);
    }
    m.streamStale.reset();
    const troubled = new Map(staleStreams(ctx).map((s) => [s.stream, s.reason]));
    for (const s of cache.streams.values()) {
      const reason = troubled.get(s.name);
      m.streamStale.set({ stream: s.name, reason: reason ?? 'none' }, reason === undefined ? 0 : 1);
    }
  });
}
