/**
 * Event ids are cache positions, so the same id means the same data on every instance.
 *
 * Format: `<set>-<lineage>:<stream>_<stream>...` where streams are the subscribed ones in name
 * order, each written as its partitions' next offsets in partition order, joined by `.`; `<set>`
 * is a short hash of the stream names, so an id presented for another set of streams is detected
 * (and answered with a resync) instead of being misread; `<lineage>` a short hash of the streams'
 * data lineages (Kafka cluster + topic id, the demo's run id), so offsets of data that was
 * replaced (topic re-created, demo restarted, another cluster) are never replayed as if they
 * were this data's. Example for `streams=orders,totals` with two and three partitions:
 * `5c1e2a-0b47f1:12.40_7.9.3`. docs/protocol.md describes it for clients.
 */

/** Longest Last-Event-ID accepted (64 streams x a few partitions fit easily). */
export const MAX_EVENT_ID_LENGTH = 2048;

/** The lineage part is optional in the shape: ids of gateways before it resync (`other-lineage`). */
const ID_SHAPE = /^[0-9a-f]{6}(-[0-9a-f]{6})?:\d{1,16}(\.\d{1,16})*(_\d{1,16}(\.\d{1,16})*)*$/;

/** 24-bit FNV-1a of the canonical stream list, as 6 hex digits. */
export function streamSetHash(sortedNames: readonly string[]): string {
  return fnv24(sortedNames.join(','));
}

/** The lineage part of an id: 24-bit FNV-1a of the streams' lineages in name order. */
export function lineageHash(lineages: readonly string[]): string {
  return fnv24(lineages.join('\n'));
}

function fnv24(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return ((h ^ (h >>> 24)) & 0xffffff).toString(16).padStart(6, '0');
}

/** `[[12, 40], [7, 9, 3]]` -> `12.40` / `7.9.3` joined per stream. */
export function streamPosition(offsets: readonly number[]): string {
  return offsets.join('.');
}

/** `prefix` is `<set>-<lineage>` (Selection.idPrefix). */
export function formatEventId(prefix: string, streamPositions: readonly string[]): string {
  return `${prefix}:${streamPositions.join('_')}`;
}

export type ParsedEventId =
  | { kind: 'ok'; cursors: number[][] }
  /** Well-formed, but for another set of streams: the client needs a resync. */
  | { kind: 'other-set' }
  /** Well-formed, for this set, but issued for other data (or by a gateway before lineages). */
  | { kind: 'other-lineage' }
  | { kind: 'malformed'; reason: string };

/** Parses a client-supplied id for the given (sorted) stream set and lineage. Never throws. */
export function parseEventId(
  raw: string,
  setHash: string,
  lineage: string,
  streamCount: number,
): ParsedEventId {
  if (raw.length > MAX_EVENT_ID_LENGTH)
    return { kind: 'malformed', reason: `longer than ${MAX_EVENT_ID_LENGTH}` };
  if (!ID_SHAPE.test(raw))
    return { kind: 'malformed', reason: 'expected <set>:<offsets>, e.g. 5c1e2a:12.40_7' };
  const [head, body] = raw.split(':') as [string, string];
  if (head.slice(0, 6) !== setHash) return { kind: 'other-set' };
  const parts = body.split('_');
  if (parts.length !== streamCount) return { kind: 'other-set' };
  const cursors = parts.map((p) => p.split('.').map(Number));
  for (const c of cursors)
    for (const n of c) if (!Number.isSafeInteger(n)) return { kind: 'malformed', reason: 'offset too large' };
  if (head.slice(7) !== lineage) return { kind: 'other-lineage' };
  return { kind: 'ok', cursors };
}
