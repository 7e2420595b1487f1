import type { Config } from '../config/load.ts';
import type { Interceptor } from '../http/pipeline.ts';
import { securityAndCorsHeaders } from './cors.ts';
import { type RateLimitCheck, rateLimit } from './rate-limit-middleware.ts';
import { urlTooLong } from './request-limits.ts';

/** What the security steps are built from. */
export interface SecurityStepsDeps {
  readonly security: Pick<Config['security'], 'corsOrigins' | 'maxUrlLength'>;
  /** The gateway's per-IP rate limit (rate-limit-middleware.ts `rateLimitCheck`). */
  readonly rateLimit: RateLimitCheck;
}

/**
 * The security steps of the request pipeline, in order: base security headers and CORS (so
 * even a refusal below is readable by an allowed page; preflights answered), the URL length
 * limit (414), and the per-IP request rate limit (429) with its exemptions. Every request
 * passes them, front door and express alike (gateway/http/app.ts).
 */
export function securitySteps(deps: SecurityStepsDeps): Interceptor[] {
  return [
    securityAndCorsHeaders(deps.security.corsOrigins),
    urlLimit(deps.security.maxUrlLength),
    rateLimit(deps.rateLimit),
  ];
}

/** 414 URI_TOO_LONG past `maxLength` characters of request target, before anything parses it. */
export function urlLimit(maxLength: number): Interceptor {
  return (next) => (ex) => {
    const tooLong = urlTooLong(ex.url, maxLength);
    if (tooLong) throw tooLong;
    next(ex);
  };
}
