import type { RequestHandler } from 'express';
import type { GatewayContext } from '../context.ts';
import { GatewayError } from '../errors.ts';
import { jitteredSeconds, queryString } from '../http/request-utils.ts';
import { checkStreamToken } from '../security/stream-access.ts';
import { sendVersioned } from './send-body.ts';

/**
 * `GET /v1/snapshot?streams=a,b`: the polling contract. The body is the same state the SSE
 * snapshot carries; its weak ETag is the position, so two instances at the same position answer
 * `If-None-Match` alike. Bodies (and their gzip) are made once per version.
 */
export function snapshotRoute(ctx: GatewayContext): RequestHandler {
  const maxAge = Math.floor(ctx.config.pollIntervalMs / 1000);
  // With stream tokens a body is per-user data: shared caches (CDNs, proxies) must not keep it.
  const cacheControl = `${ctx.config.security.streamTokenSecrets.length > 0 ? 'private' : 'public'}, max-age=${maxAge}`;
  return (req, res, next) => {
    try {
      const grant = checkStreamToken(ctx, req);
      const selection = ctx.selections.resolve(queryString(req, 'streams'));
      grant.assertAllows(selection.names);
      if (!ctx.cache.isReady())
        throw new GatewayError('NOT_READY', undefined, { retryAfterSeconds: jitteredSeconds(1, ctx.random) });
      const id = selection.eventId();
      const body = ctx.bodies.get(`snapshot:${selection.key}`, selection.etag(), () => {
        return `{"position":"${id}","streams":${selection.streamsJson()}}`;
      });
      res.setHeader('Cache-Control', cacheControl);
      res.setHeader('X-Poll-Interval-Ms', String(ctx.config.pollIntervalMs));
      res.setHeader('X-Server-Time', String(ctx.now()));
      const fresh = ctx.freshness();
      if (fresh.stale) res.setHeader('X-Switchyard-Stale', String(fresh.sinceFetchMs ?? 'never'));
      const sent = sendVersioned(req, res, body);
      // Requests and bytes are counted by the http-metrics middleware; this adds pollers and latency.
      ctx.polls.answered(req, selection, sent.status);
    } catch (err) {
      next(err);
    }
  };
}
