import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express, type Router } from 'express';
import { compareRouter } from '../compare/compare-route.ts';
import type { GatewayContext } from '../context.ts';
import { fleetRouter, workerHeader } from '../fleet/http.ts';
import { metricsRoute } from '../observability/metrics-route.ts';
import { statsRouter } from '../observability/stats-route.ts';
import { snapshotHandler } from '../poll/snapshot-route.ts';
import { rolloutRouter } from '../rollout/rollout-route.ts';
import { rateLimitCheck } from '../security/rate-limit-middleware.ts';
import { streamHandler } from '../sse/stream-route.ts';
import { telemetryRouter } from '../telemetry/telemetry-route.ts';
import { errorHandler, notFound } from './error-handler.ts';
import { ROUTING } from './exact-router.ts';
import { type FrontDoorHandler, frontDoor, toExpress } from './front-door.ts';
import { healthz, readyz } from './health-route.ts';
import { indexRouter } from './index-page.ts';
import { openingChecks } from './opening-checks.ts';
import { type Interceptor, requestListener } from './pipeline.ts';
import { compileTrust, parseQueryText, RequestViews } from './request-view.ts';
import { type RouteInfo, SNAPSHOT_ROUTE, STREAM_ROUTE } from './route-table.ts';
import { exchangeErrors } from './send-error.ts';

export interface AppExtensions {
  /** Routers mounted before the 404 handler (legacy routes, admin API, client kit...). */
  routers?: Router[];
  /** Checks run after the gateway's own, for every request (front door and express alike). */
  interceptors?: Interceptor[];
}

/** The gateway's request listener: pass it to `http.createServer` (or supertest). */
export interface GatewayApp {
  (req: IncomingMessage, res: ServerResponse): void;
  /** The express app behind the front door (every route but the two hot ones). */
  readonly express: Express;
}

/**
 * Builds the HTTP app without listening (main.ts listens): one request pipeline that every
 * request passes (opening-checks.ts: the connection guard, response metrics, the error
 * boundary, security headers and CORS, the URL limit, the per-IP rate limit, load shedding,
 * authentication of admin and stream routes);
 * then the front door serves `GET`/`HEAD` of `/v1/stream` and `/v1/snapshot` on node:http, and
 * express the rest: `/healthz`, `/readyz`, `/metrics`, `GET /v1/stats/latency`, `/compare`,
 * legacy routes, rollout, telemetry, the client kit (docs/architecture.md).
 */
export function createApp(ctx: GatewayContext, ext: AppExtensions = {}): GatewayApp {
  const { config, metrics, logger } = ctx;
  const views = new RequestViews(compileTrust(config.security.trustProxy));
  const counter = ctx.responses;
  const app = expressApp(ctx, ext, views);
  const fail = exchangeErrors({
    logger,
    retryMs: config.retryMs,
    random: ctx.random,
    onWaitAnswer: (reason) => ctx.metrics.sseWaitAnswers.inc({ reason }),
  });
  const pipeline = openingChecks({
    security: config.security,
    counter,
    closedConnections: metrics.connectionsClosed,
    rateLimit: rateLimitCheck({
      security: config.security,
      events: ctx.securityEvents,
      logger,
      now: ctx.now,
      random: ctx.random,
    }),
    admission: ctx.overload,
    authentication: {
      admin: config.admin,
      authenticateStream: ctx.authenticateStream,
      publicStreams: config.security.streamTokenSecrets.length === 0,
    },
    fail,
    early: [workerHeader(ctx.fleet)],
    extra: ext.interceptors ?? [],
  });
  const handlers = new Map<RouteInfo, FrontDoorHandler>([
    [STREAM_ROUTE, streamHandler(ctx, counter)],
    [SNAPSHOT_ROUTE, snapshotHandler(ctx)],
  ]);
  const dispatch = pipeline(frontDoor({ handlers, fallback: toExpress(app), fail }));
  return Object.assign(requestListener(views, dispatch), { express: app });
}

function expressApp(ctx: GatewayContext, ext: AppExtensions, views: RequestViews): Express {
  const app = express();
  app.disable('x-powered-by');
  // ETags are the cache position, computed by the routes; express must not hash bodies.
  app.set('etag', false);
  // The same query parser and client address as the front door (request-view.ts).
  app.set('query parser', parseQueryText);
  // One spelling per path, as the edge matches it (exact-router.ts): no case folding, no extra slash.
  app.set('case sensitive routing', ROUTING.caseSensitive);
  app.set('strict routing', ROUTING.strict);
  // Client address: X-Forwarded-For only from TRUST_PROXY (docs/security.md).
  app.set('trust proxy', views.trust ?? false);
  // Metrics, security headers, CORS, limits: the pipeline ran them before express (createApp).

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
  app.use(indexRouter());
  app.use(telemetryRouter(ctx));
  for (const r of ext.routers ?? []) app.use(r);
  app.use(notFound);
  app.use(errorHandler(ctx.logger));
  return app;
}
