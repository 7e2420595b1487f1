import type { NextFunction, Request, Response, Router } from 'express';
import { basedOn, setVersion } from '../fleet/http.ts';
import type { FleetState } from '../fleet/state.ts';
import { CLIENT_ID_PARAM, parseClientId } from '../http/client-id.ts';
import { gatewayRouter } from '../http/exact-router.ts';
import { jsonBody } from '../http/json-body.ts';
import { tagEndpoint } from '../observability/http-metrics.ts';
import type { Logger } from '../observability/logger.ts';
import type { RolloutService } from './service.ts';

/** For how long after a start `/v1/transport` waits for the stored rules (then answers provisionally). */
const LOAD_WAIT_MS = 3000;

/** Allow and deny lists of 10 000 ids of 128 characters fit. */
const RULES_BODY_LIMIT = '2mb';

/** What the rollout routes read. */
export interface RolloutHost {
  readonly rollout: RolloutService;
  readonly fleet: Pick<FleetState, 'view'>;
  readonly logger: Pick<Logger, 'info'>;
  readonly now: () => number;
}

/**
 * `GET /v1/transport?clientId=` (public): which transport this client should use.
 * `GET /v1/admin/rollout` (read scope), `PUT` and `PATCH /v1/admin/rollout` (write scope): the rules.
 * A missing or malformed client id is not an error: it gets the `anonymous` decision. The admin
 * token is checked by the request pipeline for every path under /v1/admin (route-table.ts).
 */
export function rolloutRouter(ctx: RolloutHost): Router {
  const router = gatewayRouter();
  const { rollout } = ctx;

  router.get('/v1/transport', async (req, res) => {
    tagEndpoint(res, 'transport');
    // Just after a start, wait a little for the stored rules rather than answer from the defaults.
    await rollout.settled(LOAD_WAIT_MS);
    const advice = rollout.advise(parseClientId(req.query[CLIENT_ID_PARAM]));
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Server-Time', String(ctx.now()));
    res.json(advice);
  });

  router.get('/v1/admin/rollout', (_req, res) => {
    const state = rollout.state();
    setVersion(res, state.version);
    res.json({ ...state, fleet: ctx.fleet.view() });
  });

  // PUT replaces the rules (omitted fields take their defaults); PATCH changes only the fields
  // given, so `{"percent":5}` keeps the allow list. Both take If-Match: "<version>" (409 if stale).
  const change = (merge: boolean) => [
    ...jsonBody({ limit: RULES_BODY_LIMIT, strict: false }),
    async (req: Request, res: Response, next: NextFunction) => {
      try {
        const state = await rollout.update(req.body, { merge, basedOn: basedOn(req) });
        ctx.logger.info(
          { version: state.version, percent: state.rules.percent, killSwitch: state.rules.killSwitch },
          'rollout rules changed',
        );
        setVersion(res, state.version);
        res.json(state);
      } catch (err) {
        next(err);
      }
    },
  ];
  router.put('/v1/admin/rollout', ...change(false));
  router.patch('/v1/admin/rollout', ...change(true));
  return router;
}
