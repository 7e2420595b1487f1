import type { Router } from 'express';
import type { GatewayContext } from '../context.ts';
import { gatewayRouter } from '../http/router.ts';

/**
 * `GET /v1/stats/latency`: the latency histograms of /metrics summarised per transport (count,
 * mean, p50/p95/p99 in seconds) over the last minute and since start, for the /compare page
 * and for anyone without Prometheus, over every worker of this instance. Aggregates only: as
 * public as /metrics.
 */
export function statsRouter(ctx: GatewayContext): Router {
  const router = gatewayRouter();
  router.get('/v1/stats/latency', async (_req, res, next) => {
    try {
      const summary = await ctx.figures.latency();
      res.setHeader('Cache-Control', 'no-store');
      res.json({ ...summary, pollIntervalMs: ctx.config.pollIntervalMs });
    } catch (err) {
      next(err);
    }
  });
  return router;
}
