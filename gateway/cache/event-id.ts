/**
 * Event ids are cache positions, so the same id means the same data on every instance.
 *
 * Format: `<set>:<stream>_<stream>...` where streams are the subscribed ones in name order, each
 * written as its partitions' next offsets in partition order, joined by `.`; `<set>` is a short
 * hash of the stream names, so an id presented for another set of streams is detected (and
 * answered with a resync) instead of being misread. Example for `streams=orders,totals` with
 * two and three partitions: `5c1e2a:12.40_7.9.3`. docs/protocol.md describes it for clients.
 */

/** Longest Last-Event-ID accepted (64 streams x a few partitions fit easily). */
export const MAX_EVENT_ID_LENGTH = 2048;

const ID_SHAPE = /^[0-9a-f]{6}:\d{1,16}(\.\d{1,16})*(_\d{1,16}(\.\d{1,16})*)*$/;

/** 24-bit FNV-1a of the canonical stream list, as 6 hex digits. */
export function streamSetHash(sortedNames: readonly string[]): string {
  let h = 0x811c9dc5;
  const text = sortedNames.join(',');
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

export function formatEventId(setHash: string, streamPositions: readonly string[]): string {
  return `${setHash}:${streamPositions.join('_')}`;
}

export type ParsedEventId =
  | { kind: 'ok'; cursors: number[][] }
  /** Well-formed, but for another set of streams: the client needs a resync. */
  | { kind: 'other-set' }
  | { kind: 'malformed'; reason: string };

/** Parses a client-supplied id for the given (sorted) stream set. Never throws. */
export function parseEventId(raw: string, setHash: string, streamCount: number): ParsedEventId {
  if (raw.length > MAX_EVENT_ID_LENGTH)
    return { kind: 'malformed', reason: `longer than ${MAX_EVENT_ID_LENGTH}` };
  if (!ID_SHAPE.test(raw))
    return { kind: 'malformed', reason: 'expected <set>:<offsets>, e.g. 5c1e2a:12.40_7' };
  const [hash, body] = raw.split(':') as [string, string];
  if (hash !== setHash) return { kind: 'other-set' };
  const parts = body.split('_');
  if (parts.length !== streamCount) return { kind: 'other-set' };
  const cursors = parts.map((p) => p.split('.').map(Number));
  for (const c of cursors)
    for (const n of c) if (!Number.isSafeInteger(n)) return { kind: 'malformed', reason: 'offset too large' };
  return { kind: 'ok', cursors };
}
