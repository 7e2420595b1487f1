import type { RequestHandler } from 'express';
import type { GatewayContext } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { clientIp } from '../http/request-utils.ts';
import type { RequestView } from '../http/request-view.ts';
import { jitteredSeconds } from '../util/backoff.ts';
import { clientKey, RateLimiter } from './rate-limiter.ts';
import { securityMetrics } from './security-metrics.ts';

/**
 * Paths the request-rate limit does not apply to: probes (orchestrators poll them from one
 * address, and they must answer under any load), and stream connects, which are bounded by the
 * open-stream caps instead (gateway/overload). `/metrics` is limited like any other path: a
 * Prometheus server scrapes once per interval, far below the limit, and a flood of scrapes
 * must not be free (issue 16).
 */
export const RATE_LIMIT_EXEMPT = new Set(['/healthz', '/readyz', '/v1/stream']);

/** Takes one request from the client's bucket: null when admitted, else the 429 to answer. */
export type RateLimitCheck = (req: RequestView) => GatewayError | null;

const checks = new WeakMap<GatewayContext, RateLimitCheck>();

/**
 * The per-IP token-bucket limit of a gateway (one bucket per client address, shared by the
 * express app and the node:http front door): past it, 429 RATE_LIMITED with a `Retry-After`
 * spread over [wait, 2 x wait), so the refused clients do not all come back in the same second.
 * RATE_LIMIT_PER_SECOND=0 turns it off.
 */
export function rateLimitCheck(ctx: GatewayContext): RateLimitCheck {
  let check = checks.get(ctx);
  if (!check) {
    check = createCheck(ctx);
    checks.set(ctx, check);
  }
  return check;
}

function createCheck(ctx: GatewayContext): RateLimitCheck {
  const { perSecond, burst, maxClients } = ctx.config.security.rateLimit;
  if (perSecond <= 0) return () => null;
  const limiter = new RateLimiter({ perSecond, burst, maxClients, now: ctx.now });
  const limited = securityMetrics(ctx.metrics).rateLimited;
  // Behind a proxy without TRUST_PROXY every client shares the proxy's bucket: say so, once.
  let warned = ctx.config.security.trustProxy !== false;
  return (req) => {
    if (!warned && req.headers['x-forwarded-for'] !== undefined) {
      warned = true;
      ctx.logger.warn(
        { proxy: clientIp(req) },
        'requests carry X-Forwarded-For but TRUST_PROXY is unset: per-IP limits count the proxy as one client',
      );
    }
    const waitMs = limiter.take(clientKey(clientIp(req)));
    if (waitMs === 0) return null;
    limited.inc();
    const base = Math.max(1, Math.ceil(waitMs / 1000));
    return new GatewayError('RATE_LIMITED', undefined, {
      retryAfterSeconds: jitteredSeconds(base, ctx.random),
    });
  };
}

/** The limit as express middleware, for every path but the exempt ones. */
export function rateLimitMiddleware(ctx: GatewayContext): RequestHandler {
  const check = rateLimitCheck(ctx);
  return (req, _res, next) => {
    if (RATE_LIMIT_EXEMPT.has(req.path)) return next();
    const refused = check(req);
    next(refused ?? undefined);
  };
}
