import { OUTCOMES, type Outcome, type SkipReason } from '../metrics.ts';
import type { LoggedComparison } from './mismatch-log.ts';

/** One route's shadow statistics as `GET /v1/admin/shadow` shows them. */
export interface ShadowRouteView extends Record<Outcome, number> {
  unexplainedDrift: number;
  skipped: Record<SkipReason, number>;
  last: { at: number; outcome: Outcome; cacheAheadMs: number | null } | null;
}

/** The body of `GET /v1/admin/shadow`: per route statistics and recent mismatches, newest first. */
export interface ShadowReport {
  routes: Record<string, ShadowRouteView | undefined>;
  mismatches: LoggedComparison[];
}

/** What `GET /v1/admin/shadow?route=&limit=` asks for (route undefined: every route). */
export interface ShadowQuery {
  route?: string | undefined;
  limit: number;
}

function addRoute(
  a: ShadowRouteView | undefined,
  b: ShadowRouteView | undefined,
): ShadowRouteView | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  const sum = { ...a, skipped: { ...a.skipped } };
  for (const o of OUTCOMES) sum[o] = a[o] + b[o];
  for (const k of Object.keys(b.skipped) as SkipReason[]) sum.skipped[k] = (a.skipped[k] ?? 0) + b.skipped[k];
  sum.unexplainedDrift = a.unexplainedDrift + b.unexplainedDrift;
  // The newest comparison of any process.
  sum.last = a.last === null || (b.last !== null && b.last.at > a.last.at) ? b.last : a.last;
  return sum;
}

/**
 * The reports of several processes (the workers of one instance) as one: counts added per
 * route, the newest `last`, and the newest `limit` mismatches of all of them (newest first).
 */
export function mergeShadowReports(reports: readonly ShadowReport[], limit: number): ShadowReport {
  const routes: ShadowReport['routes'] = {};
  for (const r of reports)
    for (const [name, view] of Object.entries(r.routes)) routes[name] = addRoute(routes[name], view);
  const mismatches = reports
    .flatMap((r) => r.mismatches)
    .sort((a, b) => b.at - a.at)
    .slice(0, limit);
  return { routes, mismatches };
}
