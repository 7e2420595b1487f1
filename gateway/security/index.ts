import type { RequestHandler } from 'express';
import type { GatewayContext } from '../context.ts';
import { corsMiddleware } from './cors.ts';
import { rateLimitMiddleware } from './rate-limit-middleware.ts';
import { urlLengthLimit } from './request-limits.ts';
import { baseSecurityHeaders } from './security-headers.ts';

/**
 * The middleware every request passes first, in order: base security headers, CORS (so even a
 * refusal below is readable by an allowed page), the URL length limit (414), and the per-IP
 * request rate limit (429). Mounted by createApp before every route.
 */
export function securityMiddleware(ctx: GatewayContext): RequestHandler[] {
  const s = ctx.config.security;
  return [
    baseSecurityHeaders,
    corsMiddleware(s.corsOrigins),
    urlLengthLimit(s.maxUrlLength),
    rateLimitMiddleware(ctx),
  ];
}

export { hardenServer } from './request-limits.ts';
export { htmlSecurityHeaders } from './security-headers.ts';
export { checkStreamToken, watchGrant } from './stream-access.ts';
