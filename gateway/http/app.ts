import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type Router } from 'express';
import { compareRouter } from '../compare/router.ts';
import type { GatewayContext } from '../context.ts';
import { fleetRouter, workerHeader } from '../fleet/http.ts';
import { httpMetrics } from '../observability/http-metrics.ts';
import { metricsRoute } from '../observability/metrics-route.ts';
import { statsRouter } from '../observability/stats-route.ts';
import { rolloutRouter } from '../rollout/routes.ts';
import { securityMiddleware } from '../security/index.ts';
import { telemetryRouter } from '../telemetry/route.ts';
import { admitOnConnection } from './connection-guard.ts';
import { errorHandler, notFound } from './error-handler.ts';
import { frontDoor } from './front-door.ts';
import { healthz, readyz } from './health-routes.ts';
import { indexRouter } from './index-page.ts';
import { ROUTING } from './router.ts';

export interface AppExtensions {
  /** Routers mounted before the 404 handler (legacy routes, admin API, client kit...). */
  routers?: Router[];
}

/** The gateway's request listener: pass it to `http.createServer` (or supertest). */
export interface GatewayApp {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The express app behind the front door (every route but the two hot ones). */
  readonly express: Express;
}

/**
 * Builds the HTTP app without listening (main.ts listens). `GET /v1/stream` and
 * `GET /v1/snapshot` are served by the node:http front door (front-door.ts) with the same
 * checks as everything else; the rest by express: `/healthz`, `/readyz`, `/metrics`,
 * `GET /v1/stats/latency`, `/compare`, legacy routes, rollout, telemetry, the client kit
 * (docs/architecture.md).
 */
export function createApp(ctx: GatewayContext, ext: AppExtensions = {}): GatewayApp {
  const app = expressApp(ctx, ext);
  const front = frontDoor(ctx);
  const { metrics } = ctx;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    // Pipelining: what one connection may queue, and nothing behind an open stream.
    if (!admitOnConnection(metrics, req, res)) return;
    if (!front(req, res)) app(req, res);
  };
  return Object.assign(listener, { express: app });
}

function expressApp(ctx: GatewayContext, ext: AppExtensions): Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags are the cache position, computed by the routes; express must not hash bodies.
  app.set('etag', false);
  app.set('query parser', 'simple');
  // One spelling per path, as the edge matches it (router.ts): no case folding, no extra slash.
  app.set('case sensitive routing', ROUTING.caseSensitive);
  app.set('strict routing', ROUTING.strict);
  // Client address for per-IP limits: X-Forwarded-For only from TRUST_PROXY (docs/security.md).
  app.set('trust proxy', ctx.config.security.trustProxy);
  // First, so every response (errors, 404s and 429s included) is counted by endpoint and status.
  app.use(httpMetrics(ctx.metrics));
  // Security headers, CORS, URL length and per-IP rate limits, before any route.
  app.use(securityMiddleware(ctx));
  app.use(workerHeader(ctx));

  app.get('/healthz', healthz(ctx));
  app.get('/readyz', readyz(ctx));
  // Every worker of this instance, summed (gateway/fleet/), rendered at most once per interval.
  app.get(
    '/metrics',
    metricsRoute(ctx.metrics, () => ctx.figures.metricsText()),
  );
  app.use(statsRouter(ctx));
  app.use(compareRouter(ctx));
  // Extensions (legacy routes and their admin API, the client kit, demo pages): gateway/switchyard.ts.
  for (const e of ctx.extensions) for (const r of e.routers()) app.use(r);
  // Client kit: transport rollout, latency telemetry.
  app.use(rolloutRouter(ctx));
  app.use(fleetRouter(ctx));
  app.use(indexRouter(ctx));
  app.use(telemetryRouter(ctx));
  for (const r of ext.routers ?? []) app.use(r);
  app.use(notFound);
  app.use(errorHandler(ctx.logger));
  return app;
}
