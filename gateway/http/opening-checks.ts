import type { Config } from '../config/load.ts';
import { type ResponseCounter, responseMetrics } from '../observability/http-metrics.ts';
import { type AuthenticationDeps, authentication } from '../security/authentication.ts';
import { securitySteps } from '../security/index.ts';
import type { RateLimitCheck } from '../security/rate-limit-middleware.ts';
import { admission, type PollAdmission } from './admission.ts';
import { type ClosedConnections, connectionGuard } from './connection-guard.ts';
import {
  compose,
  type Dispatch,
  type ExchangeErrorWriter,
  errorBoundary,
  type Interceptor,
} from './pipeline.ts';

/** Everything the opening checks are built from: each a service built once per gateway. */
export interface OpeningChecksDeps {
  readonly security: Pick<Config['security'], 'corsOrigins' | 'maxUrlLength'>;
  /** Counts every response (observability/http-metrics.ts). */
  readonly counter: ResponseCounter;
  /** `switchyard_connections_closed_total` (GatewayMetrics.connectionsClosed). */
  readonly closedConnections: ClosedConnections;
  /** The per-IP rate limit (security/rate-limit-middleware.ts `rateLimitCheck`). */
  readonly rateLimit: RateLimitCheck;
  /** Load shedding of polls (overload/guard.ts). */
  readonly admission: PollAdmission;
  /** Admin and stream credentials (security/authentication.ts). */
  readonly authentication: AuthenticationDeps;
  /** The one error path (send-error.ts `exchangeErrors`). */
  readonly fail: ExchangeErrorWriter;
  /**
   * Steps run right after the error boundary, before any check can refuse, so that every answer
   * carries what they set (the worker header on operators' routes).
   */
  readonly early?: readonly Interceptor[];
  /** Checks run after these, for every request. */
  readonly extra?: readonly Interceptor[];
}

/**
 * The gateway's opening checks, in the order every request meets them: the connection guard
 * (a request that must not be served is dropped first), response metrics (so every answer,
 * refusals included, is counted), the error boundary, `early`, security headers and CORS, the URL
 * limit, the per-IP rate limit, load shedding, authentication (admin and stream credentials,
 * from the route table), then `extra`. Returns the pipeline to put in
 * front of the router (front-door.ts).
 */
export function openingChecks(deps: OpeningChecksDeps): (router: Dispatch) => Dispatch {
  return compose(
    connectionGuard(deps.closedConnections),
    responseMetrics(deps.counter),
    errorBoundary(deps.fail),
    ...(deps.early ?? []),
    ...securitySteps({ security: deps.security, rateLimit: deps.rateLimit }),
    admission(deps.admission),
    authentication(deps.authentication),
    ...(deps.extra ?? []),
  );
}
