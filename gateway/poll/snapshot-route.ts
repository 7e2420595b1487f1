import type { SelectionRegistry } from '../cache/selection.ts';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import type { Config } from '../config/load.ts';
import { GatewayError } from '../errors.ts';
import type { BodyReply } from '../http/reply.ts';
import { queryString } from '../http/request-utils.ts';
import type { RequestView } from '../http/request-view.ts';
import type { StreamGrant } from '../http/stream-grant.ts';
import type { PollObserver } from '../observability/poll-observer.ts';
import { pollBodyJson } from '../protocol/json.ts';
import type { RolloutService } from '../rollout/service.ts';
import type { RecordSource } from '../source/types.ts';
import { jitteredSeconds } from '../util/backoff.ts';
import { versionedReply } from './send-body.ts';
import type { BodyCache } from './versioned-body.ts';

/**
 * The answer to one poll, for the front door to write (with the pipeline's security and CORS
 * headers); throws a catalogue error for the pipeline's error path to answer.
 */
export type SnapshotHandler = (req: RequestView, grant: StreamGrant) => BodyReply;

/** What answering a poll reads (the token was verified by the pipeline: `grant`). */
export interface SnapshotHost {
  readonly config: Pick<Config, 'pollIntervalMs'> & {
    readonly security: Pick<Config['security'], 'streamTokenSecrets'>;
  };
  readonly now: () => number;
  readonly selections: Pick<SelectionRegistry, 'resolve'>;
  readonly cache: Pick<SnapshotCache, 'isReady'>;
  readonly bodies: Pick<BodyCache, 'get'>;
  readonly rollout: Pick<RolloutService, 'state'>;
  readonly source: Pick<RecordSource, 'status'>;
  readonly polls: Pick<PollObserver, 'answered'>;
  readonly random: () => number;
  /** Whether the source has gone quiet for longer than STALE_AFTER_MS. */
  freshness(): { stale: boolean; sinceFetchMs: number | null };
}

/**
 * `GET /v1/snapshot?streams=a,b`: the polling contract. The body is the same state the SSE
 * snapshot carries; its weak ETag is the position, so two instances at the same position answer
 * `If-None-Match` alike. Bodies (and their gzip) are made once per version. Served by the
 * node:http front door (gateway/http/front-door.ts), after its security and admission checks.
 */
export function snapshotHandler(ctx: SnapshotHost): SnapshotHandler {
  // no-cache: a cache (the browser's included) may keep the body but must revalidate it on every
  // use, with the ETag, which costs a 304. A max-age made a browser fetch() polling faster than
  // it read its own cached copy. With stream tokens a body is per-user data: shared caches (CDNs,
  // proxies) must not keep it.
  const cacheControl = `${ctx.config.security.streamTokenSecrets.length > 0 ? 'private' : 'public'}, no-cache`;
  const pollInterval = String(ctx.config.pollIntervalMs);
  return (req, grant) => {
    const selection = ctx.selections.resolve(queryString(req, 'streams'));
    grant.assertAllows(selection.names);
    if (!ctx.cache.isReady())
      throw new GatewayError('NOT_READY', undefined, { retryAfterSeconds: jitteredSeconds(1, ctx.random) });
    const id = selection.eventId();
    const body = ctx.bodies.get(`snapshot:${selection.key}`, selection.etag(), () =>
      pollBodyJson(id, selection.streamsJson()),
    );
    const out = ['Cache-Control', cacheControl, 'X-Poll-Interval-Ms', pollInterval];
    out.push('X-Server-Time', String(ctx.now()));
    // The rollout rules' version: a polling kit that sees it change asks /v1/transport at once.
    out.push('X-Switchyard-Rules', String(ctx.rollout.state().version));
    const fresh = ctx.freshness();
    let staleMs = fresh.stale ? (fresh.sinceFetchMs ?? 'never') : null;
    // A stream whose topic alone cannot be read (docs/kafka-records.md): named with its reason.
    const troubled = ctx.source.status().staleTopics;
    if (troubled !== undefined && troubled.size > 0) {
      const names: string[] = [];
      const now = ctx.now();
      for (const s of selection.streams) {
        const t = troubled.get(s.topic);
        if (!t) continue;
        names.push(`${s.name}:${t.reason}`);
        if (staleMs === null || (typeof staleMs === 'number' && now - t.since > staleMs))
          staleMs = now - t.since;
      }
      if (names.length > 0) out.push('X-Switchyard-Stale-Streams', names.join(','));
    }
    if (staleMs !== null) out.push('X-Switchyard-Stale', String(staleMs));
    const reply = versionedReply(req, body, out);
    // Requests and bytes are counted by the response counter; this adds pollers and latency.
    ctx.polls.answered(req, selection, reply.status);
    return reply;
  };
}
