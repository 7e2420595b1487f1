import type { RequestHandler } from 'express';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import type { KafkaHealth } from '../source/kafka-health.ts';
import { type FreshnessView, staleStreams } from '../source/staleness-watch.ts';
import type { RecordSource } from '../source/types.ts';
import type { SseHub } from '../sse/hub.ts';

/** Liveness: the process answers. Never depends on Kafka (a broker blip must not restart pods). */
export function healthz(ctx: { readonly hub: Pick<SseHub, 'size'> }): RequestHandler {
  return (_req, res) => {
    res.json({ status: 'ok', uptimeSeconds: Math.round(process.uptime()), streams: ctx.hub.size });
  };
}

/** What readiness reads: bootstrap, drain flag, source, Kafka failures and freshness. */
export interface ReadinessHost extends FreshnessView {
  readonly cache: Pick<SnapshotCache, 'isReady'>;
  readonly state: { readonly draining: boolean };
  readonly source: Pick<RecordSource, 'kind' | 'status'>;
  readonly kafkaHealth: Pick<KafkaHealth, 'problem' | 'problems'> | null;
}

/**
 * Readiness: 200 once the bootstrap reached the high-water marks seen at start, and until
 * shutdown begins. A stale source does not flip it (the last state is still worth serving:
 * docs/operations.md explains the policy); the body says so, and lists the streams stale on
 * their own (`staleStreams`: stream, topic, reason, detail, staleMs).
 */
export function readyz(ctx: ReadinessHost): RequestHandler {
  return (_req, res) => {
    const ready = ctx.cache.isReady();
    const fresh = ctx.freshness();
    const body = {
      ready: ready && !ctx.state.draining,
      bootstrapped: ready,
      draining: ctx.state.draining,
      stale: fresh.stale,
      source: ctx.source.kind,
      sourceConnected: ctx.source.status().connected,
      // Streams whose topic alone cannot be read; the others are served fresh.
      staleStreams: staleStreams(ctx),
      // Why the source (or the rollout store, the dead-letter producer) cannot use Kafka, if it cannot.
      reason: ctx.kafkaHealth?.problem('source')?.reason ?? null,
      kafka: (ctx.kafkaHealth?.problems() ?? []).map((p) => ({
        component: p.component,
        reason: p.reason,
        cause: p.cause,
        check: p.check,
        since: new Date(p.since).toISOString(),
        failures: p.count,
      })),
    };
    res.status(body.ready ? 200 : 503).json(body);
  };
}
