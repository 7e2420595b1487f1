import type { Request, Response, Router } from 'express';
import { GatewayError } from '../errors.ts';
import { gatewayRouter } from '../http/exact-router.ts';
import type { Interceptor } from '../http/pipeline.ts';
import { type FleetState, processName } from './state.ts';

/** Response header naming the process that answered (`<instance>/<worker>`), on operators' routes. */
export const WORKER_HEADER = 'X-Switchyard-Worker';

/**
 * The version an admin write is based on, from `If-Match: "<version>"` (the ETag of the GET);
 * undefined without the header (the write is then based on what this process has in force).
 */
export function basedOn(req: Request): number | undefined {
  const raw = req.get('if-match');
  if (raw === undefined) return undefined;
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(raw);
  if (!m)
    throw new GatewayError(
      'BAD_REQUEST',
      'If-Match must be the version in quotes, as the ETag of the GET: "12"',
    );
  return Number(m[1]);
}

/** Sets the ETag of a versioned admin document. */
export function setVersion(res: Response, version: number): void {
  res.setHeader('ETag', `"${version}"`);
  res.setHeader('Cache-Control', 'no-store');
}

/** Paths whose answers name the process: operators' routes only (the name is an internal host:port). */
const OPERATOR_PATHS = /^\/(?:v1\/admin\/|metrics$|healthz$|readyz$|v1\/stats\/)/;

/**
 * Names the answering process on operators' routes (so that each worker can be told apart): a
 * pipeline step, run before any check can refuse, so a 401, 403 or 429 names its worker too.
 */
export function workerHeader(fleet: Pick<FleetState, 'identity'>): Interceptor {
  const name = processName(fleet.identity);
  return (next) => (ex) => {
    // The front door's own routes (stream, snapshot) are public: no regex on the hot path.
    if (!ex.served && OPERATOR_PATHS.test(ex.path)) ex.res.setHeader(WORKER_HEADER, name);
    next(ex);
  };
}

/**
 * `GET /v1/admin/fleet` (read): the desired versions of the fleet state (rules, routes), and for
 * every process that reported, the versions it has in force and when it said so. The admin token
 * is checked by the request pipeline (route-table.ts: everything under /v1/admin).
 */
export function fleetRouter(ctx: { readonly fleet: FleetState }): Router {
  const router = gatewayRouter();
  router.get('/v1/admin/fleet', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.json({ self: processName(ctx.fleet.identity), ...ctx.fleet.view() });
  });
  return router;
}
