import type { Config } from '../config/load.ts';
import { adminRefusal, adminScopeOf } from '../http/admin-auth.ts';
import type { Interceptor } from '../http/pipeline.ts';
import { attachGrant, PUBLIC_GRANT } from '../http/stream-grant.ts';
import type { StreamAuthenticator } from './stream-access.ts';

/** What the authentication step is built from. */
export interface AuthenticationDeps {
  /** ADMIN_TOKEN and ADMIN_READ_TOKEN. */
  readonly admin: Config['admin'];
  /** The gateway's one stream token check (stream-access.ts `streamAuthenticator`). */
  readonly authenticateStream: StreamAuthenticator;
  /** No STREAM_TOKEN_SECRET: every stream request gets the PUBLIC grant, nothing is read. */
  readonly publicStreams: boolean;
}

/**
 * The pipeline's authentication step: every request whose path the route table marks
 * (route-table.ts `RouteAuth`) presents its credential here, before any handler runs and before
 * any body is read.
 * - `admin` (`/v1/admin` and everything below it): an admin bearer token, the read scope for
 *   GET and HEAD, the write scope otherwise; 401 UNAUTHORIZED / 403 FORBIDDEN (admin-auth.ts).
 * - `stream` (GET and HEAD of `/v1/stream`, `/v1/snapshot`, `/compare/config.json`): the stream
 *   token is verified (401 UNAUTHORIZED or TOKEN_EXPIRED, counted) and the grant handed on: on
 *   the exchange for the front door, through `streamGrantOf(req)` for an express route. The
 *   handler only authorises the streams it serves (`grant.assertAllows`, 403).
 * Runs after admission, so a request shed under load is not verified first.
 */
export function authentication(deps: AuthenticationDeps): Interceptor {
  const { admin, authenticateStream, publicStreams } = deps;
  return (next) => (ex) => {
    const auth = ex.auth;
    if (auth === 'stream') {
      const method = ex.req.method;
      if (method === 'GET' || method === 'HEAD') {
        // No secret: one constant grant, no parsing and no allocation on the hot path.
        const grant = publicStreams
          ? PUBLIC_GRANT
          : authenticateStream({ query: ex.query, headers: ex.req.headers });
        ex.grant = grant;
        if (!ex.served) attachGrant(ex.req, grant);
      }
    } else if (auth === 'admin') {
      const refused = adminRefusal(admin, ex.req.headers.authorization, adminScopeOf(ex.req.method));
      if (refused) throw refused;
    }
    next(ex);
  };
}
