import type { SourceRecord } from '../source/types.ts';
import type { StreamState } from './stream-state.ts';

export type UpdateOp = 'upsert' | 'delete' | 'append';

/** One change applied to the cache, shared by every subscriber (never copied per client). */
export interface AppliedUpdate {
  /** Apply sequence, monotone within this process. */
  readonly seq: number;
  readonly stream: StreamState;
  readonly op: UpdateOp;
  readonly key: string | null;
  readonly partition: number;
  readonly offset: number;
  /** Record creation time (epoch ms): from the record timestamp or the configured JSON field. */
  readonly createdAt: number;
  /** When this gateway applied it (epoch ms, gateway clock). */
  readonly appliedAt: number;
  /** The `update` event payload, serialised once. */
  readonly data: string;
  /** The stream's position string right after this update (see event-id.ts). */
  readonly streamPos: string;
}

/**
 * A stream's position moved with no update to show for it: a record skipped as invalid, a
 * tombstone of a key the table did not hold, transaction markers, a partition added. Listeners
 * that carry positions in ids (the hub) take it in apply order, so an id sent after it is never
 * behind a snapshot id rendered after it.
 */
export interface PositionAdvance {
  readonly op: 'advance';
  readonly stream: StreamState;
  /** The stream's position string now (see event-id.ts). */
  readonly streamPos: string;
}

/** Counters the cache reports to (metrics live at the edge; the cache stays pure). */
export interface CacheObserver {
  applied(stream: string, createdAt: number, appliedAt: number): void;
  rejected(
    stream: string,
    reason: string,
    /** The record itself (coordinates, and key/value for a dead-letter copy). */
    coords: { topic: string; partition: number; offset: number } & Partial<SourceRecord>,
    detail: string,
  ): void;
  evicted(stream: string, reason: 'capacity' | 'expired'): void;
}

export const NOOP_OBSERVER: CacheObserver = { applied() {}, rejected() {}, evicted() {} };
