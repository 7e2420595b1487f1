/**
 * Types of the client kit: the wire types of the Switchyard protocol (declared once, in
 * gateway/protocol/types.ts, which the server uses too), and the state the kit hands
 * to applications. The state has exactly the shape of a `/v1/snapshot` body, so a page that
 * rendered poll bodies renders kit state unchanged.
 */
import type {
  PollBody,
  SnapshotEventData,
  StreamData,
  UpdateEventData,
} from '../../gateway/protocol/types.ts';

export type {
  ControlEventData,
  FeedItem,
  FeedStream,
  PollBody,
  SnapshotEventData,
  StreamData,
  TableEntry,
  TableStream,
  TransportAdvice,
  UpdateEventData,
} from '../../gateway/protocol/types.ts';

/** What the kit holds: identical whichever transport fed it. */
export interface ClientState {
  /** The position (event id / ETag) the state reflects; null before the first data. */
  position: string | null;
  streams: Record<string, StreamData>;
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
