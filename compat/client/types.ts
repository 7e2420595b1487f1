/**
 * Wire types of the Switchyard protocol as the client kit reads them (docs/protocol.md), and the
 * state the kit hands to applications. The state has exactly the shape of a `/v1/snapshot` body,
 * so a page that rendered poll bodies renders kit state unchanged.
 */

/** A table row: the latest value of a key and when its record was created (epoch ms). */
export interface TableEntry {
  value: unknown;
  createdAt: number;
}

/** A `table` stream: key -> latest value. `entries` has a null prototype (keys such as `__proto__` are data). */
export interface TableStream {
  mode: 'table';
  entries: Record<string, TableEntry>;
}

/** A feed item; `items` are oldest first, at most `maxItems`. */
export interface FeedItem {
  key: string | null;
  value: unknown;
  createdAt: number;
}

export interface FeedStream {
  mode: 'feed';
  maxItems: number;
  items: FeedItem[];
}

export type StreamData = TableStream | FeedStream;

/** What the kit holds: identical whichever transport fed it. */
export interface ClientState {
  /** The position (event id / ETag) the state reflects; null before the first data. */
  position: string | null;
  streams: Record<string, StreamData>;
}

/** Data of the SSE `snapshot` event. */
export interface SnapshotEventData {
  serverTime: number;
  resync: boolean;
  reason?: string;
  position: string;
  streams: Record<string, StreamData>;
}

/** Data of the SSE `update` event. */
export interface UpdateEventData {
  stream: string;
  op: 'upsert' | 'delete' | 'append';
  key: string | null;
  value?: unknown;
  createdAt: number;
  appliedAt: number;
}

/** Body of `GET /v1/snapshot`. */
export interface PollBody {
  position: string;
  streams: Record<string, StreamData>;
}

/** Data of the SSE `control` event: the rollout moved this client. */
export interface ControlEventData {
  transport: 'poll' | 'sse';
  reason: string;
  pollIntervalMs?: number;
  recheckAfterMs?: number;
  rulesVersion?: number;
}

/** Body of `GET /v1/transport`. */
export interface TransportAdvice {
  transport: 'sse' | 'poll';
  reason: string;
  clientId: string | null;
  bucket: number | null;
  pollIntervalMs: number;
  recheckAfterMs: number;
  percent: number;
  rulesVersion: number;
  provisional: boolean;
}

/** One input of the reducer: both transports produce these and nothing else. */
export type KitAction =
  | { type: 'snapshot'; data: SnapshotEventData }
  | { type: 'update'; data: UpdateEventData; id: string | null }
  | { type: 'poll'; body: PollBody };

export type TransportKind = 'sse' | 'poll' | 'none';

/** What the kit is doing, for status badges and tests. */
export interface KitStatus {
  transport: TransportKind;
  /** connecting: waiting for the first data; live: data flows; waiting: backing off; closed: stopped. */
  phase: 'starting' | 'connecting' | 'live' | 'waiting' | 'closed';
  /**
   * Why this transport: the rollout's reason (`rollout`, `allow_list`, `kill_switch`...), or
   * `control:<reason>` (switched by the gateway), `fallback:no_snapshot` / `fallback:errors`
   * (the stream failed), `no_eventsource`, `forced`, `transport_unavailable`.
   */
  reason: string;
  /** False in a tab that mirrors another tab's connection. */
  leader: boolean;
  /** Estimated server clock minus local clock, ms. */
  clockOffsetMs: number;
  /** Last error code or message seen, if any. */
  lastError: string | null;
  /** Local time (epoch ms) of the last status change. */
  since: number;
}

/** The subset of the EventSource interface the kit uses (browser native or the `eventsource` package). */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (ev: Event) => void): void;
  close(): void;
}

export type EventSourceConstructor = new (
  url: string,
  init?: { withCredentials?: boolean; fetch?: typeof fetch },
) => EventSourceLike;
