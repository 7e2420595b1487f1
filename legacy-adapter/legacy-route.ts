import type { Router } from 'express';
import { GatewayError } from '../gateway/errors.ts';
import { basedOn, setVersion } from '../gateway/fleet/http.ts';
import type { FleetState } from '../gateway/fleet/state.ts';
import { gatewayRouter } from '../gateway/http/exact-router.ts';
import { jsonBody } from '../gateway/http/json-body.ts';
import { queryString } from '../gateway/http/request-utils.ts';
import type { LegacyAdapter, RoutePatch } from './adapter.ts';
import type { ShadowQuery, ShadowReport } from './shadow/report.ts';

const PATCH_KEYS = new Set(['mode', 'contract', 'sampleRate']);

/**
 * The legacy routes and their admin API:
 * - `GET /v1/admin/routes` (read): every route, its mode, contract and shadow statistics (of
 *   every worker of the instance);
 * - `PUT /v1/admin/routes/:name` (write) `{"mode"?, "contract"?, "sampleRate"?}`: takes effect on
 *   the next request of this instance;
 * - `GET /v1/admin/shadow?route=&limit=` (read): statistics and recent mismatches with both bodies,
 *   of every worker of the instance (`workers`: how many answered);
 * - the configured legacy paths themselves (proxy / shadow / serve).
 * The admin token is checked by the gateway's request pipeline for every path under /v1/admin
 * (gateway/http/route-table.ts), before any body is read.
 */
export function legacyRouter(ctx: {
  readonly legacy: LegacyAdapter;
  readonly fleet: Pick<FleetState, 'view' | 'routes' | 'publishRoutes'>;
  /** Shadow statistics and recent mismatches of every worker of the instance, merged. */
  readonly shadow: (query: ShadowQuery) => Promise<ShadowReport & { workers: number }>;
  readonly now: () => number;
}): Router {
  const legacy = ctx.legacy;
  const router = gatewayRouter();

  router.get('/v1/admin/routes', async (_req, res) => {
    // The shadow counts of every worker; those of this process if the primary does not answer.
    const fleetShadow = await ctx.shadow({ limit: 0 }).catch(() => null);
    setVersion(res, legacy.version);
    res.json({
      version: legacy.version,
      routes: legacy.names().map((n) => {
        const route = legacy.describe(n);
        const shadow = fleetShadow?.routes[n];
        return route === undefined || shadow === undefined ? route : { ...route, shadow };
      }),
      fleet: ctx.fleet.view(),
    });
  });

  // The contracts loaded at start (LEGACY_CONTRACTS), with the file each came from.
  router.get('/v1/admin/contracts', (_req, res) => {
    res.json({ contracts: legacy.contractList() });
  });

  router.put('/v1/admin/routes/:name', ...jsonBody({ limit: '4kb' }), async (req, res) => {
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new GatewayError(
        'BAD_BODY',
        'send a JSON object such as {"mode":"shadow"} (Content-Type: application/json)',
      );
    const unknown = Object.keys(body).filter((k) => !PATCH_KEYS.has(k));
    if (unknown.length > 0 || Object.keys(body).length === 0)
      throw new GatewayError(
        'BAD_BODY',
        unknown.length > 0
          ? `unknown field ${JSON.stringify(unknown[0]!.slice(0, 40))} (allowed: mode, contract, sampleRate)`
          : 'nothing to change: give mode, contract or sampleRate',
      );
    // Fleet state: published to the control log, applied by every process (this one included).
    const name = String(req.params.name);
    const setting = legacy.validate(name, body as RoutePatch);
    const state = await ctx.fleet.publishRoutes(
      { ...ctx.fleet.routes().routes, ...legacy.desired(), [name]: setting },
      ctx.now(),
      basedOn(req),
    );
    setVersion(res, state.version);
    res.json(legacy.describe(name));
  });

  router.get('/v1/admin/shadow', async (req, res) => {
    const route = queryString(req, 'route', 64);
    if (route !== undefined && legacy.describe(route) === undefined)
      throw new GatewayError('NOT_FOUND', `no legacy route named ${JSON.stringify(route)}`, {
        details: { known: legacy.names() },
      });
    const rawLimit = queryString(req, 'limit', 4);
    const limit = rawLimit === undefined ? 10 : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 0 || limit > legacy.mismatches.capacity)
      throw new GatewayError(
        'BAD_QUERY',
        `limit must be an integer from 0 to ${legacy.mismatches.capacity}`,
        {
          details: { parameter: 'limit' },
        },
      );
    res.json(await ctx.shadow({ route, limit }));
  });

  router.use(legacy.handle);
  return router;
}
