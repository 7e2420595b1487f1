import { Router as createRouter, type Router } from 'express';

/**
 * Every route of the gateway has one spelling: matched case-sensitively and without a trailing
 * slash that the route does not name (`/metrics/`, `/METRICS` and `/V1/Stream` are 404). This
 * is the path normalisation the shipped NGINX edge (`docs/deploy/nginx.conf.template`) relies
 * on with its exact `location =` blocks: a spelling the edge does not match reaches no route
 * here either. Express matches case-insensitively with an optional slash by default, per
 * router: build every router with this (the app sets the same, see app.ts).
 */
export const ROUTING = { caseSensitive: true, strict: true } as const;

/** An express router matching paths exactly (see {@link ROUTING}). */
export function gatewayRouter(): Router {
  return createRouter(ROUTING);
}
