import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { ROUTE_MODES, type RouteMode } from './config.ts';

/** Shadow comparison outcomes (closed set). */
export const OUTCOMES = ['match', 'structural', 'drift', 'legacy_error', 'render_error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Why a sampled shadow request was not compared (closed set). */
export type SkipReason = 'rate_limited' | 'queue_full' | 'not_ready' | 'not_modified';

export type FallbackReason = 'not-ready' | 'stale' | 'render-error';

/**
 * The legacy adapter's metrics, on the gateway's registry. Every `route` label is a configured
 * route name (never a client-supplied value); docs/migration-guide.md lists them.
 */
export class LegacyMetrics {
  readonly mode: Gauge<'route' | 'mode'>;
  readonly responses: Counter<'route' | 'mode' | 'source'>;
  readonly fallbacks: Counter<'route' | 'reason'>;
  readonly upstreamErrors: Counter<'route' | 'kind'>;
  readonly comparisons: Counter<'route' | 'outcome'>;
  readonly skipped: Counter<'route' | 'reason'>;
  readonly cacheAhead: Histogram<'route'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.mode = new Gauge({
      name: 'switchyard_legacy_route_mode',
      help: '1 for the current mode of each legacy route, 0 for the others.',
      labelNames: ['route', 'mode'],
      // Fleet state, the same on every worker once applied: 1 if any worker is in that mode.
      aggregator: 'max',
      registers,
    });
    this.responses = new Counter({
      name: 'switchyard_legacy_responses_total',
      help: 'Legacy route responses by the mode at request time and what answered (backend or cache).',
      labelNames: ['route', 'mode', 'source'],
      registers,
    });
    this.fallbacks = new Counter({
      name: 'switchyard_legacy_fallbacks_total',
      help: 'Serve-mode requests answered by the backend instead, by reason.',
      labelNames: ['route', 'reason'],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'switchyard_legacy_upstream_errors_total',
      help: 'Proxied requests that failed: backend unreachable (502) or too slow (504).',
      labelNames: ['route', 'kind'],
      registers,
    });
    this.comparisons = new Counter({
      name: 'switchyard_legacy_shadow_comparisons_total',
      help: 'Shadow comparisons by outcome: match, structural (contract bug), drift (data moved), legacy_error, render_error.',
      labelNames: ['route', 'outcome'],
      registers,
    });
    this.skipped = new Counter({
      name: 'switchyard_legacy_shadow_skipped_total',
      help: 'Sampled shadow requests not compared: over LEGACY_SHADOW_MAX_PER_SECOND, queue full, cache not ready, or a 304.',
      labelNames: ['route', 'reason'],
      registers,
    });
    this.cacheAhead = new Histogram({
      name: 'switchyard_legacy_shadow_cache_ahead_seconds',
      help: 'Per comparison, how much newer the cache data was than the legacy answer (negative: older).',
      labelNames: ['route'],
      buckets: [-10, -1, 0, 0.1, 0.5, 1, 2, 5, 10, 15, 30, 60, 300],
      registers,
    });
  }

  /** Sets the mode gauge of a route: 1 for `mode`, 0 for the others. */
  setMode(route: string, mode: RouteMode): void {
    for (const m of ROUTE_MODES) this.mode.set({ route, mode: m }, m === mode ? 1 : 0);
  }
}
