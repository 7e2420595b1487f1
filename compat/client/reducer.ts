import type {
  ClientState,
  FeedItem,
  FeedStream,
  KitAction,
  StreamData,
  TableEntry,
  TableStream,
  UpdateEventData,
} from './types.ts';

/** The state before any data. */
export const EMPTY_STATE: ClientState = Object.freeze({ position: null, streams: Object.freeze({}) });

/**
 * The one reducer of the kit, pure: `snapshot` events and poll bodies replace the state,
 * `update` events patch it (table rows by key; feed items by creation time, newest `maxItems`). Both transports feed it, so the state is the same whichever one a
 * client uses. The input state is never modified: each stream touched by the batch is copied
 * once per batch (not once per update), and untouched streams are shared with the old state.
 */
export function reduce(state: ClientState, actions: readonly KitAction[]): ClientState {
  let position = state.position;
  let streams = state.streams;
  let copied: Set<string> | null = null;
  for (const a of actions) {
    if (a.type === 'snapshot' || a.type === 'poll') {
      const src = a.type === 'snapshot' ? a.data : a.body;
      position = src.position;
      streams = normaliseStreams(src.streams);
      // Everything is fresh: later updates of this batch may write to it in place.
      copied = new Set(Object.keys(streams));
      continue;
    }
    const u = a.data;
    const current = streams[u.stream];
    if (!current || !matches(current, u)) continue;
    copied ??= new Set();
    if (!copied.has(u.stream)) {
      if (streams === state.streams) streams = copyRecord(streams);
      streams[u.stream] = copyStream(current);
      copied.add(u.stream);
    }
    applyUpdate(streams[u.stream]!, u);
    if (a.id !== null) position = a.id;
  }
  if (position === state.position && streams === state.streams) return state;
  for (const name of copied ?? []) trimFeed(streams[name]!);
  return { position, streams };
}

/** A state received from elsewhere (another tab, storage): its records get null prototypes again. */
export function adoptState(s: ClientState): ClientState {
  return {
    position: typeof s?.position === 'string' ? s.position : null,
    streams: normaliseStreams(s?.streams ?? {}),
  };
}

function matches(s: StreamData, u: UpdateEventData): boolean {
  return s.mode === 'feed' ? u.op === 'append' : u.op === 'upsert' || u.op === 'delete';
}

function applyUpdate(s: StreamData, u: UpdateEventData): void {
  if (s.mode === 'feed') {
    insertByCreatedAt(s.items, { key: u.key, value: u.value, createdAt: u.createdAt });
    return;
  }
  if (u.key === null) return;
  if (u.op === 'delete') delete s.entries[u.key];
  else s.entries[u.key] = { value: u.value, createdAt: u.createdAt };
}

/**
 * Feeds are ordered by creation time, as the gateway serves them (docs/protocol.md: the newest
 * `maxItems` by createdAt over all partitions): an item from a partition that lags lands where
 * a poll would show it, not at the end. Equal times keep arrival order (not significant).
 */
function insertByCreatedAt(items: FeedItem[], item: FeedItem): void {
  const last = items[items.length - 1];
  if (last === undefined || last.createdAt <= item.createdAt) {
    items.push(item);
    return;
  }
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (items[mid]!.createdAt <= item.createdAt) lo = mid + 1;
    else hi = mid;
  }
  items.splice(lo, 0, item);
}

function trimFeed(s: StreamData): void {
  if (s.mode === 'feed' && s.items.length > s.maxItems) s.items.splice(0, s.items.length - s.maxItems);
}

/** A record with a null prototype, so any key (`__proto__`, `constructor`) is plain data. */
function copyRecord<T>(src: Record<string, T>): Record<string, T> {
  return Object.assign(Object.create(null) as Record<string, T>, src);
}

function copyStream(s: StreamData): StreamData {
  if (s.mode === 'feed') return { mode: 'feed', maxItems: s.maxItems, items: s.items.slice() };
  return { mode: 'table', entries: copyRecord(s.entries) };
}

function normaliseStreams(src: Record<string, StreamData>): Record<string, StreamData> {
  const out = Object.create(null) as Record<string, StreamData>;
  for (const [name, s] of Object.entries(src)) {
    if (s?.mode === 'table') out[name] = { mode: 'table', entries: copyRecord(s.entries ?? {}) };
    else if (s?.mode === 'feed')
      out[name] = {
        mode: 'feed',
        maxItems: s.maxItems,
        items: Array.isArray(s.items) ? s.items.slice() : [],
      };
  }
  return out;
}

/**
 * Creation times of what `next` has that `prev` had not: new or changed table rows, new feed
 * items. What a polling client sees arrive with one poll; used for its latency samples.
 * Empty when `prev` held no data yet (the first poll is a baseline, not an arrival).
 */
export function arrivals(prev: ClientState, next: ClientState): number[] {
  const out: number[] = [];
  if (prev.position === null || prev === next) return out;
  for (const [name, s] of Object.entries(next.streams)) {
    const before = prev.streams[name];
    if (!before || before.mode !== s.mode) continue;
    if (s.mode === 'table') tableArrivals(before as TableStream, s, out);
    else feedArrivals(before as FeedStream, s, out);
  }
  return out;
}

function tableArrivals(before: TableStream, now: TableStream, out: number[]): void {
  for (const key of Object.keys(now.entries)) {
    const e: TableEntry = now.entries[key]!;
    const old = before.entries[key];
    if (!old || old.createdAt !== e.createdAt) out.push(e.createdAt);
  }
}

function feedArrivals(before: FeedStream, now: FeedStream, out: number[]): void {
  const seen = new Set(before.items.map((i) => `${i.createdAt}\0${i.key}`));
  for (const i of now.items) if (!seen.has(`${i.createdAt}\0${i.key}`)) out.push(i.createdAt);
}
