import type { SelectionRegistry } from './cache/selection.ts';
import type { SnapshotCache } from './cache/snapshot-cache.ts';
import type { Config } from './config/load.ts';
import type { GatewayExtension } from './extension.ts';
import type { FleetFigures } from './fleet/index.ts';
import type { FleetState } from './fleet/state.ts';
import type { ResponseCounter } from './observability/http-metrics.ts';
import type { Logger } from './observability/logger.ts';
import type { GatewayMetrics } from './observability/metrics.ts';
import type { PollObserver } from './observability/poll-observer.ts';
import type { OverloadGuard } from './overload/guard.ts';
import type { BodyCache } from './poll/versioned-body.ts';
import type { RolloutService } from './rollout/service.ts';
import type { ExpiringStream, ExpiryWatch } from './security/expiry-watch.ts';
import type { SecurityEvents } from './security/security-events.ts';
import type { StreamAuthenticator } from './security/stream-access.ts';
import type { Service } from './service.ts';
import type { KafkaHealth } from './source/kafka-health.ts';
import type { RecordSource } from './source/types.ts';
import type { SseHub } from './sse/hub.ts';
import type { StreamMetrics } from './sse/stream-metrics.ts';
import type { SubscriberHooks } from './sse/subscriber.ts';
import type { TelemetryEvents } from './telemetry/telemetry-events.ts';

/** Lifecycle flags shared by the routes and the shutdown sequence. */
export interface LifecycleState {
  /** Set first on shutdown: /readyz answers 503 and new streams are refused. */
  draining: boolean;
  /** The shutdown in progress (every caller of `shutdown()` awaits the same run). */
  shutdown: Promise<void> | null;
}

/** Everything the HTTP layer needs, built once by createGateway() and passed to createApp(). */
export interface GatewayContext {
  readonly config: Config;
  readonly cache: SnapshotCache;
  readonly hub: SseHub;
  readonly selections: SelectionRegistry;
  readonly source: RecordSource;
  readonly metrics: GatewayMetrics;
  /** The SSE transport's events (a port over `metrics`: gateway/sse/stream-metrics.ts). */
  readonly streamMetrics: StreamMetrics;
  readonly logger: Logger;
  readonly bodies: BodyCache;
  /** Pollers count and poll delivery latency; polling routes call `answered()`. */
  readonly polls: PollObserver;
  /** Transport rollout: per-client decisions, rules, control events (gateway/rollout/). */
  readonly rollout: RolloutService;
  /** Parts mounted from outside the core (the legacy adapter...): routes, start and stop. */
  readonly extensions: readonly GatewayExtension[];
  /** Admin state shared by every worker of every instance (gateway/fleet/). */
  readonly fleet: FleetState;
  /** /metrics and /v1/stats/latency over every worker of this instance. */
  readonly figures: FleetFigures;
  /** Kafka failures in force, per component (null without Kafka): /readyz, logs, metrics. */
  readonly kafkaHealth: KafkaHealth | null;
  /** Admission control: stream caps and event-loop shedding (gateway/overload/). */
  readonly overload: OverloadGuard;
  /** What the security layer reports (a port over `metrics`: observability/security-events.ts). */
  readonly securityEvents: SecurityEvents;
  /** What client kit telemetry reports (a port over `metrics`: observability/telemetry-events.ts). */
  readonly telemetryEvents: TelemetryEvents;
  /** The one stream token check: the pipeline's authentication step and extensions run it. */
  readonly authenticateStream: StreamAuthenticator;
  /** Ends streams whose access token expires (gateway/security/stream-access.ts). */
  readonly expiryWatch: ExpiryWatch<ExpiringStream>;
  /** Responses counted by endpoint and status; open streams hand theirs to their subscriber. */
  readonly responses: ResponseCounter;
  /** The hooks every SSE subscriber shares (gateway/sse/stream-route.ts). */
  readonly streamHooks: SubscriberHooks;
  /** Every part with a timer, connection or queue, in start order (gateway/service.ts). */
  readonly services: readonly Service[];
  readonly state: LifecycleState;
  readonly now: () => number;
  readonly random: () => number;
  /** Whether the source has gone quiet for longer than STALE_AFTER_MS. */
  freshness(): { stale: boolean; sinceFetchMs: number | null };
}
