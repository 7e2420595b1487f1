import type { IncomingMessage } from 'node:http';
import type { Config } from '../config/load.ts';
import { GatewayError } from '../errors.ts';
import type { Interceptor } from '../http/pipeline.ts';
import type { Logger } from '../observability/logger.ts';
import { jitteredSeconds } from '../util/backoff.ts';
import { clientKey, RateLimiter } from './rate-limiter.ts';
import type { SecurityEvents } from './security-events.ts';

/** Takes one request from the client's bucket: null when admitted, else the 429 to answer. */
export type RateLimitCheck = (req: RateLimited) => GatewayError | null;

/** What the limit reads of a request (an exchange of the pipeline is one). */
export interface RateLimited {
  readonly req: Pick<IncomingMessage, 'headers' | 'socket'>;
  /** Client address after TRUST_PROXY; the socket's when undefined. */
  readonly ip: string | undefined;
}

/** What the per-IP rate limit is built from (narrow: no gateway context). */
export interface RateLimitDeps {
  readonly security: Pick<Config['security'], 'rateLimit' | 'trustProxy'>;
  /** Told of every refusal (`switchyard_rate_limited_total`). */
  readonly events: Pick<SecurityEvents, 'rateLimited'>;
  readonly logger: Pick<Logger, 'warn'>;
  readonly now: () => number;
  readonly random: () => number;
}

/**
 * The per-IP token-bucket limit of a gateway (one bucket per client address, whatever the
 * route): past it, 429 RATE_LIMITED with a `Retry-After` spread over [wait, 2 x wait), so the
 * refused clients do not all come back in the same second. RATE_LIMIT_PER_SECOND=0 turns it off.
 * Build it once per gateway (its buckets are its state).
 */
export function rateLimitCheck(deps: RateLimitDeps): RateLimitCheck {
  const { perSecond, burst, maxClients } = deps.security.rateLimit;
  if (perSecond <= 0) return () => null;
  const limiter = new RateLimiter({ perSecond, burst, maxClients, now: deps.now });
  // Behind a proxy without TRUST_PROXY every client shares the proxy's bucket: say so, once.
  let warned = deps.security.trustProxy !== false;
  return (r) => {
    const ip = r.ip ?? r.req.socket.remoteAddress ?? 'unknown';
    if (!warned && r.req.headers['x-forwarded-for'] !== undefined) {
      warned = true;
      deps.logger.warn(
        { proxy: ip },
        'requests carry X-Forwarded-For but TRUST_PROXY is unset: per-IP limits count the proxy as one client',
      );
    }
    const waitMs = limiter.take(clientKey(ip));
    if (waitMs === 0) return null;
    deps.events.rateLimited();
    const base = Math.max(1, Math.ceil(waitMs / 1000));
    return new GatewayError('RATE_LIMITED', undefined, {
      retryAfterSeconds: jitteredSeconds(base, deps.random),
    });
  };
}

/**
 * The limit as a pipeline step, for every request but those its route exempts
 * (`rateLimitExempt` in gateway/http/route-table.ts: probes, and stream connects, bounded by the
 * stream caps instead). A route served by the front door is exempt for the methods it serves
 * only: `POST /v1/stream` is limited like any other request (then answered 405).
 */
export function rateLimit(check: RateLimitCheck): Interceptor {
  return (next) => (ex) => {
    const route = ex.route;
    const exempt = route?.rateLimitExempt === true && (route.methods === undefined || ex.served);
    if (!exempt) {
      const refused = check(ex);
      if (refused) throw refused;
    }
    next(ex);
  };
}
