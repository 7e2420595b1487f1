import type { Config } from '../config/load.ts';
import { GatewayError } from '../errors.ts';
import { queryString } from '../http/request-utils.ts';
import type { RequestView } from '../http/request-view.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import { readCookie } from './cookies.ts';
import { type ExpiringStream, ExpiryWatch } from './expiry-watch.ts';
import { type SecurityMetrics, securityMetrics } from './security-metrics.ts';
import {
  deniedStreams,
  MAX_TOKEN_LENGTH,
  type StreamTokenClaims,
  verifyStreamToken,
} from './stream-token.ts';

/** Cookie carrying a stream token (pages on the same site; EventSource sends cookies, not headers). */
export const STREAM_TOKEN_COOKIE = 'switchyard_token';
/** Query parameter carrying a stream token (cross-site embeds; takes precedence over the cookie). */
export const ACCESS_TOKEN_PARAM = 'access_token';

/** What a request may read. `expiresAt` null: no expiry (streams are public). */
export interface StreamGrant {
  readonly expiresAt: number | null;
  /** Throws FORBIDDEN unless every one of `names` is open to this grant. */
  assertAllows(names: readonly string[]): void;
}

const PUBLIC: StreamGrant = { expiresAt: null, assertAllows() {} };

/** What checking a token needs of the gateway (legacy routes pass their narrower host). */
export interface TokenHost {
  readonly config: { readonly security: Pick<Config['security'], 'streamTokenSecrets'> };
  readonly metrics: GatewayMetrics;
  readonly now: () => number;
}

/**
 * Checks the stream token of a stream or snapshot request, on every connect and every resume.
 * With no STREAM_TOKEN_SECRET everything is public. Otherwise: no token -> 401 UNAUTHORIZED,
 * a malformed, forged or not-yet-valid token -> 401 UNAUTHORIZED, an expired one -> 401
 * TOKEN_EXPIRED. Call `assertAllows(selection.names)` on the result once the streams are known
 * (403 FORBIDDEN for a stream the token does not name). The token itself is never logged.
 */

export function checkStreamToken(ctx: TokenHost, req: Pick<RequestView, 'query' | 'headers'>): StreamGrant {
  const secrets = ctx.config.security.streamTokenSecrets;
  if (secrets.length === 0) return PUBLIC;
  const m = securityMetrics(ctx.metrics);
  const token =
    queryString(req, ACCESS_TOKEN_PARAM, MAX_TOKEN_LENGTH) ??
    readCookie(req.headers.cookie, STREAM_TOKEN_COOKIE);
  if (token === undefined || token === '') {
    m.authFailures.inc({ reason: 'missing' });
    throw new GatewayError(
      'UNAUTHORIZED',
      `a stream token is required (cookie ${STREAM_TOKEN_COOKIE} or ?${ACCESS_TOKEN_PARAM}=)`,
    );
  }
  const check = verifyStreamToken(token, secrets, ctx.now());
  if (!check.ok) {
    if (check.reason === 'expired') {
      m.authFailures.inc({ reason: 'expired' });
      throw new GatewayError('TOKEN_EXPIRED');
    }
    m.authFailures.inc({ reason: 'invalid' });
    throw new GatewayError('UNAUTHORIZED', 'the stream token is not valid');
  }
  return grantOf(ctx, check.claims);
}

function grantOf(ctx: TokenHost, claims: StreamTokenClaims): StreamGrant {
  return {
    expiresAt: claims.exp * 1000,
    assertAllows(names) {
      const denied = deniedStreams(claims, names);
      if (denied.length === 0) return;
      securityMetrics(ctx.metrics).authFailures.inc({ reason: 'forbidden_stream' });
      throw new GatewayError('FORBIDDEN', 'the stream token does not open every requested stream', {
        details: { streams: denied.slice(0, 64) },
      });
    },
  };
}

/**
 * The one expiry watch of a gateway (createGateway builds it): ends a stream with TOKEN_EXPIRED
 * when its token expires. Its timer runs only while something is watched.
 */
export function createExpiryWatch(
  metrics: Pick<SecurityMetrics, 'tokenExpiries'>,
  now: () => number,
): ExpiryWatch<ExpiringStream> {
  return new ExpiryWatch<ExpiringStream>(now, (sub) => {
    metrics.tokenExpiries.inc();
    sub.fail('TOKEN_EXPIRED', 'the stream token expired: fetch a new one and reconnect');
  });
}

/** The expiry watch of a gateway. */
export function expiryWatchFor(ctx: {
  readonly expiryWatch: ExpiryWatch<ExpiringStream>;
}): ExpiryWatch<ExpiringStream> {
  return ctx.expiryWatch;
}

/**
 * Ends `sub` with an `error` event (code TOKEN_EXPIRED) when its grant expires. No-op for
 * public streams. The watch forgets the stream as soon as it closes for any other reason.
 */
export function watchGrant(
  ctx: { readonly expiryWatch: ExpiryWatch<ExpiringStream> },
  sub: ExpiringStream,
  grant: StreamGrant,
): void {
  if (grant.expiresAt === null) return;
  const forget = expiryWatchFor(ctx).add(sub, grant.expiresAt);
  sub.res.once('close', forget);
}
