import type { SnapshotView, ViewItem, ViewRow } from '../compat/contracts/types.ts';
import type { Selection } from '../gateway/cache/selection.ts';
import type { FeedItem, StreamState, TableEntry } from '../gateway/cache/stream-state.ts';

/**
 * Parsed form of each cached row/item, keyed by the cache's own entry object: an entry is
 * immutable and replaced on update, so its value is parsed once in its life, not per request
 * or per version. Weak: evicted entries take their parsed value with them.
 */
const parsed = new WeakMap<TableEntry | FeedItem, ViewRow | ViewItem>();

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}

/** The parsed, frozen view of a cached row or item, made once per row (not per request or version). */
function viewOf(entry: TableEntry): ViewRow;
function viewOf(entry: FeedItem): ViewItem;
function viewOf(entry: TableEntry | FeedItem): ViewRow | ViewItem {
  let view = parsed.get(entry);
  if (!view) {
    view = Object.freeze({
      key: entry.key,
      value: deepFreeze(JSON.parse(entry.valueJson) as unknown),
      createdAt: entry.createdAt,
    }) as ViewRow | ViewItem;
    parsed.set(entry, view);
  }
  return view;
}

/** Builds the view of a selection's streams as they are now (frozen arrays of frozen values). */
export function buildView(selection: Selection): SnapshotView {
  const tables = new Map<string, readonly ViewRow[]>();
  const feeds = new Map<string, readonly ViewItem[]>();
  const newest = new Map<string, number>();
  let asOf: number | null = null;
  let stream = '';
  const seen = (t: number) => {
    if (asOf === null || t > asOf) asOf = t;
    if (t > (newest.get(stream) ?? Number.NEGATIVE_INFINITY)) newest.set(stream, t);
  };
  for (const s of selection.streams) {
    stream = s.name;
    if (s.table) {
      const rows: ViewRow[] = [];
      for (const entry of s.table.values()) {
        const row = viewOf(entry);
        rows.push(row);
        seen(row.createdAt);
      }
      tables.set(s.name, Object.freeze(rows));
    } else if (s.feed) {
      const items: ViewItem[] = [];
      for (const entry of s.feed) {
        const item = viewOf(entry);
        items.push(item);
        seen(item.createdAt);
      }
      feeds.set(s.name, Object.freeze(items));
    }
  }
  const missing = (kind: string, name: string): never => {
    throw new Error(`the view has no ${kind} stream "${name}": name it in the contract's streams`);
  };
  return Object.freeze({
    position: selection.eventId(),
    asOf,
    streamAsOf: (name: string) => newest.get(name) ?? null,
    table: <V>(name: string) => (tables.get(name) ?? missing('table', name)) as readonly ViewRow<V>[],
    feed: <V>(name: string) => (feeds.get(name) ?? missing('feed', name)) as readonly ViewItem<V>[],
  });
}

/** The streams' versions, the memo key of everything derived from them. */
export function versionsOf(streams: readonly StreamState[]): number[] {
  return streams.map((s) => s.version);
}

export function sameVersions(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
