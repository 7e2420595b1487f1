import type { Selection, SelectionRegistry } from '../cache/selection.ts';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import type { Config } from '../config/load.ts';
import { GatewayError } from '../errors.ts';
import { CLIENT_ID_PARAM, parseClientId } from '../http/client-id.ts';
import type { StreamReply } from '../http/reply.ts';
import { clientIp, queryString } from '../http/request-utils.ts';
import { header, type RequestView } from '../http/request-view.ts';
import type { StreamGrant } from '../http/stream-grant.ts';
import { EDGE_HEADER, edgeFailsOver, wantsEventStream } from '../http/stream-wait-answer.ts';
import type { ResponseCounter } from '../observability/http-metrics.ts';
import type { OverloadGuard } from '../overload/guard.ts';
import { encodeComment } from '../protocol/encoder.ts';
import { snapshotEvent as frameSnapshot, statusEvent, updateEvent } from '../protocol/events.ts';
import { acceptsEventStream, SSE_HEADER_LIST } from '../protocol/sse-headers.ts';
import type { ResyncReason } from '../protocol/types.ts';
import type { RolloutService } from '../rollout/service.ts';
import type { ExpiringStream, ExpiryWatch } from '../security/expiry-watch.ts';
import { watchGrant } from '../security/stream-access.ts';
import { type FreshnessView, statusData } from '../source/staleness-watch.ts';
import { jitteredSeconds } from '../util/backoff.ts';
import { SseHub } from './hub.ts';
import type { StreamMetrics } from './stream-metrics.ts';
import { Subscriber, type SubscriberHooks } from './subscriber.ts';

/** Query parameter carrying the last event id on a first connection (EventSource sets the header on reconnects). */
export const LAST_EVENT_ID_PARAM = 'lastEventId';
/** How long a resume waits for this instance to reach a cursor that a faster instance handed out. */
export const RESUME_WAIT_MS = 3000;

type Start =
  | { kind: 'fresh' }
  | { kind: 'resume'; cursors: number[][] }
  | { kind: 'resync'; reason: ResyncReason };

/** What opening a stream reads: admission, the cache, the hub, the hooks and the expiry watch. */
export interface StreamHost extends FreshnessView {
  readonly config: FreshnessView['config'] & Pick<Config, 'clientBufferBytes' | 'retryMs' | 'heartbeatMs'>;
  readonly state: { readonly draining: boolean };
  readonly now: () => number;
  readonly random: () => number;
  readonly selections: Pick<SelectionRegistry, 'resolve'>;
  readonly cache: Pick<SnapshotCache, 'isReady' | 'history'>;
  readonly hub: Pick<SseHub, 'waitUntil' | 'join'>;
  readonly overload: Pick<OverloadGuard, 'admitStream' | 'releaseStream'>;
  readonly streamHooks: SubscriberHooks;
  readonly expiryWatch: ExpiryWatch<ExpiringStream>;
  readonly rollout: Pick<RolloutService, 'streamOpened'>;
  readonly streamMetrics: Pick<StreamMetrics, 'connected'>;
}

/**
 * Validates a stream request and returns its answer, or throws the catalogue error. `grant` is
 * the verified stream token (the pipeline's authentication step ran before this).
 */
export type StreamHandler = (req: RequestView, grant: StreamGrant) => StreamReply;

/**
 * `GET /v1/stream?streams=a,b`: a snapshot event, then updates. Every input is validated before
 * the headers go out, so a bad request is a plain 400 JSON error with nothing streamed first:
 * the handler throws the catalogue error, for the pipeline to answer. Served by the node:http
 * front door (gateway/http/front-door.ts), after the pipeline's checks; `counter` takes over
 * the byte count of each stream from its subscriber once it opens.
 */
export function streamHandler(ctx: StreamHost, counter: ResponseCounter): StreamHandler {
  return (req, grant) => streamReply(ctx, counter, req, grant);
}

function streamReply(
  ctx: StreamHost,
  counter: ResponseCounter,
  req: RequestView,
  grant: StreamGrant,
): StreamReply {
  if (!acceptsEventStream(header(req, 'accept')))
    throw new GatewayError(
      'NOT_ACCEPTABLE',
      'this route only serves text/event-stream; poll /v1/snapshot for JSON',
    );
  if (ctx.state.draining)
    throw new GatewayError('SHUTTING_DOWN', undefined, {
      retryAfterSeconds: jitteredSeconds(1, ctx.random),
    });
  // The token was verified by the pipeline (401 before anything about the streams is revealed,
  // on resumes too); here it is only asked whether it opens these streams (403).
  const selection = ctx.selections.resolve(queryString(req, 'streams'));
  grant.assertAllows(selection.names);
  const start = parseStart(req, selection);
  // Behind an edge that fails over (NGINX as shipped), a stream sent to an instance still
  // bootstrapping is refused so the edge tries a ready one; otherwise it is held (open()).
  if (!ctx.cache.isReady() && edgeFailsOver(header(req, EDGE_HEADER)))
    throw new GatewayError('NOT_READY', undefined, { retryAfterSeconds: jitteredSeconds(1, ctx.random) });
  // Caps and event-loop shedding last: only a valid request counts against them. The stream
  // is handed back to the caps when its subscriber closes (subscriberHooks).
  const ip = clientIp(req);
  const guard = ctx.overload;
  guard.admitStream(ip);
  const release = () => guard.releaseStream(ip);
  return {
    kind: 'stream',
    headers: [...SSE_HEADER_LIST, 'X-Server-Time', String(ctx.now())],
    abandon: release,
    open: async (res) => {
      let sub: Subscriber;
      try {
        const id = parseClientId(req.query[CLIENT_ID_PARAM]);
        sub = new Subscriber(res, selection, ctx.config.clientBufferBytes, ctx.streamHooks, ip, id);
        // From here the subscriber carries its own byte count (its hooks report it).
        counter.handOver(res, sub);
      } catch (err) {
        release();
        throw err;
      }
      watchGrant(ctx, sub, grant);
      await open(ctx, sub, start, () => parseStart(req, selection));
    },
  };
}

function parseStart(req: RequestView, selection: Selection): Start {
  const h = header(req, 'last-event-id');
  const raw = h !== undefined && h !== '' ? h : queryString(req, LAST_EVENT_ID_PARAM, 4096);
  if (raw === undefined || raw === '') return { kind: 'fresh' };
  const parsed = selection.parseCursor(raw);
  // A page that stored an id this gateway cannot read must not be stopped for good (a 400
  // closes an EventSource): a stream client gets a fresh snapshot marked as a resync instead.
  if (parsed.kind === 'malformed' && wantsEventStream(header(req, 'accept')))
    return { kind: 'resync', reason: 'bad_id' };
  if (parsed.kind === 'malformed')
    throw new GatewayError('BAD_LAST_EVENT_ID', `Last-Event-ID is malformed: ${parsed.reason}`);
  if (parsed.kind === 'other-set') return { kind: 'resync', reason: 'other_streams' };
  if (parsed.kind === 'other-lineage') return { kind: 'resync', reason: 'lineage' };
  return { kind: 'resume', cursors: parsed.cursors };
}

async function open(ctx: StreamHost, sub: Subscriber, start: Start, reparse: () => Start): Promise<void> {
  const { cache, hub, streamMetrics, config } = ctx;
  const { res, selection } = sub;
  const retry = SseHub.jitteredRetry(config.retryMs, ctx.random);

  // Before the bootstrap completes, hold the stream open (with heartbeats) instead of failing:
  // EventSource gives up for good on a non-200 answer.
  const heldUntilReady = !cache.isReady();
  while (!cache.isReady()) {
    res.write(retry + encodeComment('waiting for the snapshot to catch up'));
    await hub.waitUntil(() => cache.isReady() || !sub.isOpen, config.heartbeatMs);
    if (!sub.isOpen) return;
  }
  // An id read before the bootstrap was compared with a lineage the source had not identified
  // yet (a restarting instance): read it again now, or a resumable client would resync.
  if (heldUntilReady) start = reparse();
  if (start.kind === 'resume' && selection.isAhead(start.cursors)) {
    const { cursors } = start;
    const caughtUp = await hub.waitUntil(() => !selection.isAhead(cursors) || !sub.isOpen, RESUME_WAIT_MS);
    if (!sub.isOpen) return;
    if (!caughtUp) start = { kind: 'resync', reason: 'ahead' };
  }
  if (start.kind === 'resume' && !selection.canReplay(start.cursors))
    start = { kind: 'resync', reason: 'too_old' };

  // From here to join() nothing awaits: the initial write and the live updates meet exactly.
  let initial: string;
  if (start.kind === 'resume') {
    initial = '';
    for (const { update, id } of selection.replay(cache.history, start.cursors))
      initial += updateEvent(id, update.data);
    streamMetrics.connected('replay');
  } else {
    initial = snapshotEvent(ctx, selection, start.kind === 'resync' ? start.reason : null);
    streamMetrics.connected(start.kind);
  }
  // A client that connects while the source is stale learns it with its snapshot.
  if (ctx.freshness().stale) initial += currentStatusEvent(ctx);
  sub.writeInitial(retry + initial);
  hub.join(sub);
  // A kit told to poll (rules changed while it connected) hears so at once, not at the next change.
  ctx.rollout.streamOpened(sub);
}

/** The `snapshot` event: full state of the selection at the current position. */
export function snapshotEvent(
  ctx: { now(): number },
  selection: Selection,
  resyncReason: ResyncReason | null,
): string {
  return frameSnapshot(ctx.now(), resyncReason, selection.eventId(), selection.streamsJson());
}

/**
 * The hooks every subscriber of a gateway shares (one object: no closures per connection), built
 * once by createGateway: a closed stream leaves the hub, hands its byte count and its admission
 * slot back, and is counted.
 */
export function subscriberHooks(ctx: {
  readonly hub: Pick<SseHub, 'subscribers' | 'leave'>;
  readonly overload: Pick<OverloadGuard, 'releaseStream'>;
  readonly responses: Pick<ResponseCounter, 'addOwner' | 'closedOwned'>;
  readonly metrics: Pick<StreamMetrics, 'closed' | 'conflated' | 'slowDisconnected'>;
}): SubscriberHooks {
  const counter = ctx.responses;
  counter.addOwner('stream', () => ctx.hub.subscribers());
  return {
    onClose: (sub: Subscriber) => {
      ctx.hub.leave(sub);
      counter.closedOwned('stream', sub);
      ctx.overload.releaseStream(sub.ip);
      ctx.metrics.closed();
    },
    onConflated: (n: number) => ctx.metrics.conflated(n),
    onSlowDisconnect: () => ctx.metrics.slowDisconnected(),
  };
}

/** The source's current `status` event, framed (no id: it does not move the client's resume point). */
export function currentStatusEvent(ctx: FreshnessView): string {
  return statusEvent(statusData(ctx));
}
