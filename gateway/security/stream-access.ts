import { GatewayError } from '../errors.ts';
import { queryString } from '../http/request-utils.ts';
import type { RequestView } from '../http/request-view.ts';
import { PUBLIC_GRANT, type StreamGrant } from '../http/stream-grant.ts';
import { readCookie } from './cookies.ts';
import { type ExpiringStream, ExpiryWatch } from './expiry-watch.ts';
import type { SecurityEvents } from './security-events.ts';
import {
  deniedStreams,
  MAX_TOKEN_LENGTH,
  type StreamTokenClaims,
  verifyStreamToken,
} from './stream-token.ts';

export type { StreamGrant } from '../http/stream-grant.ts';

/** Cookie carrying a stream token (pages on the same site; EventSource sends cookies, not headers). */
export const STREAM_TOKEN_COOKIE = 'switchyard_token';
/** Query parameter carrying a stream token (cross-site embeds; takes precedence over the cookie). */
export const ACCESS_TOKEN_PARAM = 'access_token';

/**
 * Verifies the stream token of a request and returns what it may read, or throws the refusal.
 * The gateway has one (createGateway builds it): the pipeline's authentication step runs it for
 * the routes the route table marks `stream`, and an extension serving stream data on paths of
 * its own (the legacy adapter's served routes) runs the same function.
 */
export type StreamAuthenticator = (req: Pick<RequestView, 'query' | 'headers'>) => StreamGrant;

/** What the stream authenticator is built from. */
export interface StreamAuthDeps {
  /** STREAM_TOKEN_SECRET (and the previous one during a rotation); none: streams are public. */
  readonly secrets: readonly string[];
  readonly events: Pick<SecurityEvents, 'authFailed'>;
  readonly now: () => number;
}

/**
 * The stream token check, on every connect and every resume. With no STREAM_TOKEN_SECRET every
 * request gets the one PUBLIC_GRANT (nothing read, nothing allocated). Otherwise: no token ->
 * 401 UNAUTHORIZED, a malformed, forged or not-yet-valid token -> 401 UNAUTHORIZED, an expired
 * one -> 401 TOKEN_EXPIRED, each counted. Handlers call `assertAllows(selection.names)` on the
 * grant once the streams are known (403 FORBIDDEN for a stream the token does not name). The
 * token itself is never logged.
 */
export function streamAuthenticator(deps: StreamAuthDeps): StreamAuthenticator {
  const { secrets, events, now } = deps;
  if (secrets.length === 0) return () => PUBLIC_GRANT;
  return (req) => {
    const token =
      queryString(req, ACCESS_TOKEN_PARAM, MAX_TOKEN_LENGTH) ??
      readCookie(req.headers.cookie, STREAM_TOKEN_COOKIE);
    if (token === undefined || token === '') {
      events.authFailed('missing');
      throw new GatewayError(
        'UNAUTHORIZED',
        `a stream token is required (cookie ${STREAM_TOKEN_COOKIE} or ?${ACCESS_TOKEN_PARAM}=)`,
      );
    }
    const check = verifyStreamToken(token, secrets, now());
    if (!check.ok) {
      if (check.reason === 'expired') {
        events.authFailed('expired');
        throw new GatewayError('TOKEN_EXPIRED');
      }
      events.authFailed('invalid');
      throw new GatewayError('UNAUTHORIZED', 'the stream token is not valid');
    }
    return grantOf(events, check.claims);
  };
}

function grantOf(events: Pick<SecurityEvents, 'authFailed'>, claims: StreamTokenClaims): StreamGrant {
  return {
    expiresAt: claims.exp * 1000,
    assertAllows(names) {
      const denied = deniedStreams(claims, names);
      if (denied.length === 0) return;
      events.authFailed('forbidden_stream');
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
  events: Pick<SecurityEvents, 'tokenExpired'>,
  now: () => number,
): ExpiryWatch<ExpiringStream> {
  return new ExpiryWatch<ExpiringStream>(now, (sub) => {
    events.tokenExpired();
    sub.fail('TOKEN_EXPIRED', 'the stream token expired: fetch a new one and reconnect');
  });
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
  const forget = ctx.expiryWatch.add(sub, grant.expiresAt);
  sub.res.once('close', forget);
}
