import type { z } from 'zod';

/** A row of a `table` stream as a contract sees it: the value already parsed (and frozen). */
export interface ViewRow<V = unknown> {
  readonly key: string;
  readonly value: V;
  /** Record creation time, epoch ms. */
  readonly createdAt: number;
}

/** An item of a `feed` stream as a contract sees it. */
export interface ViewItem<V = unknown> {
  readonly key: string | null;
  readonly value: V;
  readonly createdAt: number;
}

/**
 * The part of the snapshot a contract reads: the parsed rows and items of the streams it
 * names, built once per version of those streams and shared by every render (never mutate it).
 * Values are whatever JSON the records carried: a contract checks what it relies on.
 */
export interface SnapshotView {
  /** Position (event id) of the streams the view was built from. */
  readonly position: string;
  /** Newest record creation time in the view (epoch ms), null when it holds no data. */
  readonly asOf: number | null;
  /** Newest record creation time of one stream of the view, null when empty or not in the view. */
  streamAsOf(stream: string): number | null;
  /** Rows of a table stream, in no particular order. Throws for a stream the contract did not name. */
  table<V = unknown>(stream: string): readonly ViewRow<V>[];
  /** Items of a feed stream, oldest first. Throws for a stream the contract did not name. */
  feed<V = unknown>(stream: string): readonly ViewItem<V>[];
}

/**
 * An old polling endpoint's response, rendered from the snapshot. A contract is data plus one
 * pure function: the gateway memoises `render` per version of `streams`, serialises the result
 * once (`JSON.stringify`, so key order is the order `render` builds objects in) and compresses
 * it at most once. docs/contracts.md explains how to write one.
 */
export interface LegacyContract<Body = unknown> {
  /** Registry name, used in LEGACY_ROUTES and the admin API (`^[a-z][a-z0-9-]{0,47}$`). */
  readonly name: string;
  /** The old endpoint's path, the default route path for this contract. */
  readonly route: string;
  /** Bumped whenever `render` changes its output for the same data (part of the ETag). */
  readonly version: number;
  /** Streams read, with the mode each must have; checked against STREAMS at start. */
  readonly streams: Readonly<Record<string, 'table' | 'feed'>>;
  /** The `Cache-Control` header the old endpoint sent, sent as is in `serve` mode. */
  readonly cacheControl: string;
  /**
   * Paths whose values differ by nature between the two sides (timestamps of the render):
   * their values are not compared in shadow mode, their presence and type still are.
   * `a.b` for object fields, `list[].field` for a field of every element of an array.
   */
  readonly volatile: readonly string[];
  /**
   * Arrays whose elements have an identity, by path (`list`, `a.list`, `list[].sub`): shadow
   * mode matches their elements by this field instead of by index, so a row changing rank is
   * one difference, not a shift of all the rows below it.
   */
  readonly arrayKeys?: Readonly<Record<string, string>>;
  /** The declared shape of the body (the old endpoint's documented response). */
  readonly shape: z.ZodType<Body>;
  /** Pure: the old body from the snapshot. Same view, same result; no clock, no I/O. */
  render(view: SnapshotView): Body;
  /**
   * The data time of a legacy response (epoch ms), for the shadow freshness figure (how much
   * newer the cache's data was than the old answer): the newest record time the body shows,
   * either as one number (compared with `view.asOf`) or per stream (`{ orders: t1, totals: t2 }`,
   * each compared with that stream: an old system that ingests its sources separately can be
   * current on one and behind on another). null when the body does not say. Prefer data
   * timestamps to a render time such as `generated_at`.
   */
  asOf?(legacyBody: unknown): number | null | Readonly<Record<string, number | null>>;
}
