import type { IncomingMessage } from 'node:http';

/**
 * What an authenticated request may read: the streams its token opens, and until when. The
 * request pipeline's authentication step (gateway/security/authentication.ts) verifies the
 * credential and hands the grant on; handlers only authorise with it.
 */
export interface StreamGrant {
  /** When the credential expires (epoch ms); null: never (streams are public). */
  readonly expiresAt: number | null;
  /** Throws FORBIDDEN unless every one of `names` is open to this grant. */
  assertAllows(names: readonly string[]): void;
}

/** The grant of every request while streams are public (no STREAM_TOKEN_SECRET): one constant. */
export const PUBLIC_GRANT: StreamGrant = Object.freeze({ expiresAt: null, assertAllows() {} });

/**
 * The grant of a request nothing authenticated: a route serving stream data whose entry in the
 * route table (route-table.ts) declares no `auth: 'stream'`. It fails closed (a 500 naming the
 * bug), so a forgotten declaration never serves streams to anyone.
 */
export const NO_GRANT: StreamGrant = Object.freeze({
  expiresAt: null,
  assertAllows(): void {
    throw new Error('no stream grant: declare auth "stream" for this path in gateway/http/route-table.ts');
  },
});

/** Grants of requests routed on to express, where no exchange travels with them. */
const grants = new WeakMap<IncomingMessage, StreamGrant>();

/** Hands `grant` to the express route that serves `req` (the authentication step calls this). */
export function attachGrant(req: IncomingMessage, grant: StreamGrant): void {
  grants.set(req, grant);
}

/** The grant the pipeline verified for `req` (an express route's accessor); NO_GRANT when none. */
export function streamGrantOf(req: IncomingMessage): StreamGrant {
  return grants.get(req) ?? NO_GRANT;
}
