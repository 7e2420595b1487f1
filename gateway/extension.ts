import type { Router } from 'express';
import type { SelectionRegistry } from './cache/selection.ts';
import type { SnapshotCache } from './cache/snapshot-cache.ts';
import type { Config } from './config/load.ts';
import type { FleetFigures } from './fleet/index.ts';
import type { FleetState } from './fleet/state.ts';
import type { Logger } from './observability/logger.ts';
import type { GatewayMetrics } from './observability/metrics.ts';
import type { PollObserver } from './observability/poll-observer.ts';
import type { BodyCache } from './poll/versioned-body.ts';
import type { StreamAuthenticator } from './security/stream-access.ts';
import type { Service } from './service.ts';

/**
 * What an extension of the gateway (the legacy adapter, legacy-adapter/) may see of it: a
 * read-only view of the cache, the selections, the shared body cache, freshness and the clock.
 * Extensions depend on this interface, never on GatewayContext, so the gateway can hold them
 * without an import cycle; a GatewayContext is one.
 */
export interface GatewayView {
  readonly config: Config;
  /** Readiness and the streams' state; an extension never applies records. */
  readonly cache: Pick<SnapshotCache, 'isReady' | 'streams' | 'sequence'>;
  readonly selections: Pick<SelectionRegistry, 'resolve'>;
  readonly bodies: BodyCache;
  /** Polling routes report their answers here (poll delivery latency, pollers count). */
  readonly polls: Pick<PollObserver, 'answered'>;
  readonly metrics: GatewayMetrics;
  /**
   * The gateway's one stream token check (security/stream-access.ts): an extension serving
   * stream data on paths of its own (which the pipeline's route table cannot know) runs it, then
   * authorises with the grant (`assertAllows`).
   */
  readonly authenticateStream: StreamAuthenticator;
  now(): number;
  random(): number;
  /** Whether the source has gone quiet for longer than STALE_AFTER_MS. */
  freshness(): { stale: boolean; sinceFetchMs: number | null };
}

/**
 * A part mounted on the gateway from outside its core (the legacy adapter): routes of its own,
 * and start/stop with the gateway's other services. The core knows extensions only through this
 * interface; the composition root (gateway/switchyard.ts) decides which ones run.
 */
export interface GatewayExtension extends Service {
  /** Routers mounted by createApp after the gateway's own routes, before the 404. */
  routers(): Router[];
}

/** What an extension may do to the gateway beyond reading it: follow fleet state and publish it. */
export interface ExtensionHost extends GatewayView {
  readonly logger: Logger;
  /** Fleet-wide admin state (route modes and sample rates travel here). */
  readonly fleet: Pick<FleetState, 'view' | 'routes' | 'publishRoutes' | 'onRoutes'>;
  /** Per-worker reports: what this process answers, and every worker's answer (WORKERS > 1). */
  readonly figures: Pick<FleetFigures, 'serveReports' | 'reports'>;
}

/** Builds an extension once the gateway's parts exist (createGateway calls it). */
export type ExtensionFactory<E extends GatewayExtension = GatewayExtension> = (host: ExtensionHost) => E;
