import type { Router } from 'express';
import type { Config } from '../config/load.ts';
import type { FleetFigures } from '../fleet/index.ts';
import { gatewayRouter } from '../http/exact-router.ts';
import type { GatewayMetrics } from './metrics.ts';
import { MetricsScrape } from './metrics-route.ts';

/** What the stats route reads. */
export interface StatsHost {
  readonly metrics: GatewayMetrics;
  readonly figures: Pick<FleetFigures, 'latency'>;
  readonly config: Pick<Config, 'pollIntervalMs'>;
}

/**
 * `GET /v1/stats/latency`: the latency histograms of /metrics summarised per transport (count,
 * mean, p50/p95/p99 in seconds) over the last minute and since start, for the /compare page
 * and for anyone without Prometheus, over every worker of this instance. Aggregates only: as
 * public as /metrics. Computed as /metrics is rendered (issue 16): at most once per
 * RENDER_INTERVAL_MS past a small burst, and the bytes shared by every request meanwhile, so a
 * flood of stats requests costs one summary (and one round of worker IPC) per interval.
 */
export function statsRouter(ctx: StatsHost): Router {
  const router = gatewayRouter();
  const shared = new MetricsScrape(ctx.metrics, undefined, async () =>
    JSON.stringify({ ...(await ctx.figures.latency()), pollIntervalMs: ctx.config.pollIntervalMs }),
  );
  router.get('/v1/stats/latency', async (_req, res, next) => {
    try {
      const body = await shared.render();
      res.setHeader('Cache-Control', 'no-store');
      res.setHeader('Content-Type', 'application/json; charset=utf-8');
      res.send(body);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
