import express, { type Express, type Router } from 'express';
import type { GatewayContext } from '../context.ts';
import { snapshotRoute } from '../poll/snapshot-route.ts';
import { streamRoute } from '../sse/stream-route.ts';
import { errorHandler, notFound } from './error-handler.ts';
import { healthz, readyz } from './health-routes.ts';

export interface AppExtensions {
  /** Routers mounted before the 404 handler (legacy routes, admin API, client kit...). */
  routers?: Router[];
}

/**
 * Builds the HTTP app without listening (main.ts listens). Routes:
 * `/healthz`, `/readyz`, `/metrics`, `GET /v1/stream`, `GET /v1/snapshot`.
 */
export function createApp(ctx: GatewayContext, ext: AppExtensions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags are the cache position, computed by the routes; express must not hash bodies.
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.get('/healthz', healthz(ctx));
  app.get('/readyz', readyz(ctx));
  app.get('/metrics', async (_req, res, next) => {
    try {
      res.setHeader('Content-Type', ctx.metrics.registry.contentType);
      res.end(await ctx.metrics.render());
    } catch (err) {
      next(err);
    }
  });
  app.get('/v1/stream', streamRoute(ctx));
  app.get('/v1/snapshot', snapshotRoute(ctx));
  for (const r of ext.routers ?? []) app.use(r);
  app.use(notFound);
  app.use(errorHandler(ctx.logger));
  return app;
}
