/**
 * The wire types of the Switchyard protocol (docs/protocol.md): what the gateway sends and the
 * client kit reads. One declaration for both sides; the builders in this folder produce exactly
 * these shapes.
 */

/** How an `update` changes its stream: table rows are upserted or deleted, feed items appended. */
export type UpdateOp = 'upsert' | 'delete' | 'append';

/** A table row: the latest value of a key and when its record was created (epoch ms). */
export interface TableEntry {
  value: unknown;
  createdAt: number;
}

/** A `table` stream: key -> latest value. Keys are data (`__proto__` included): read them with `Object.hasOwn`. */
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

/** Why a `snapshot` replaces the client's state although it asked to resume. */
export type ResyncReason = 'too_old' | 'other_streams' | 'ahead' | 'bad_id' | 'lineage';

/** Data of the SSE `snapshot` event. */
export interface SnapshotEventData {
  serverTime: number;
  resync: boolean;
  /** Present when `resync` is true (a {@link ResyncReason}; clients accept any string). */
  reason?: string;
  position: string;
  streams: Record<string, StreamData>;
}

/** Data of the SSE `update` event; `value` is absent on a `delete`. */
export interface UpdateEventData {
  stream: string;
  op: UpdateOp;
  key: string | null;
  value?: unknown;
  createdAt: number;
  appliedAt: number;
}

/** Body of `GET /v1/snapshot`: the state a `snapshot` event carries. */
export interface PollBody {
  position: string;
  streams: Record<string, StreamData>;
}

/** A stream whose topic alone cannot be read, in a `status` event. */
export interface StaleStreamStatus {
  reason: string;
  detail: string;
  staleMs: number;
}

/** Data of the SSE `status` event: whether the served data may be incomplete, and for how long. */
export interface StatusEventData {
  stale: boolean;
  /** Milliseconds since the last successful fetch (null: never fetched); 0 when fresh. */
  staleMs: number | null;
  serverTime: number;
  /** Streams stale on their own, by name; `{}` if none. */
  streams: Record<string, StaleStreamStatus>;
}

/** Data of the SSE `control` event: the rollout moved this client. */
export interface ControlEventData {
  transport: 'poll' | 'sse';
  reason: string;
  pollIntervalMs?: number;
  recheckAfterMs?: number;
  rulesVersion?: number;
}

/** Data of the SSE `shutdown` event: this instance is stopping; reconnect after `retry:`. */
export interface ShutdownEventData {
  code: 'SHUTTING_DOWN';
  reconnect: true;
}

/** Data of the SSE `gateway-error` event: a catalogue code (docs/errors.md) and what to do. */
export interface GatewayErrorEventData {
  code: string;
  message: string;
  /** The client should reconnect (after `retry:`, or `retryMs`). */
  reconnect?: boolean;
  retryMs?: number;
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
