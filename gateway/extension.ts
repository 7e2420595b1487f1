import type { SelectionRegistry } from './cache/selection.ts';
import type { SnapshotCache } from './cache/snapshot-cache.ts';
import type { Config } from './config/load.ts';
import type { GatewayMetrics } from './observability/metrics.ts';
import type { PollObserver } from './observability/poll-observer.ts';
import type { BodyCache } from './poll/versioned-body.ts';

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
  now(): number;
  random(): number;
  /** Whether the source has gone quiet for longer than STALE_AFTER_MS. */
  freshness(): { stale: boolean; sinceFetchMs: number | null };
}
