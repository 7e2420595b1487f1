import type { StreamConfig } from '../config/streams.ts';
import type { SourceRecord } from '../source/types.ts';

/** Why a record was skipped; each is counted per stream (metric `switchyard_records_rejected_total`). */
export type RejectReason =
  | 'too_large'
  | 'invalid_json'
  | 'too_deep'
  | 'missing_key'
  | 'invalid_key'
  | 'bad_timestamp'
  | 'not_an_object';

/** A record turned into what the cache stores: the value re-serialised once as single-line JSON. */
export interface DecodedRecord {
  key: string | null;
  /** null: a tombstone (table delete). */
  valueJson: string | null;
  createdAt: number;
}

export type DecodeResult =
  | { ok: true; record: DecodedRecord }
  | { ok: false; reason: RejectReason; detail: string };

/** Nesting deeper than this is refused: deep JSON is a classic stack/CPU attack on consumers. */
export const MAX_JSON_DEPTH = 32;
export const MAX_KEY_BYTES = 1024;

/** Pure: decides whether a record may enter the cache, and in which form. Never throws. */
export function decodeRecord(stream: StreamConfig, rec: SourceRecord): DecodeResult {
  const size = (rec.value?.length ?? 0) + (rec.key?.length ?? 0);
  if (size > stream.maxRecordBytes)
    return {
      ok: false,
      reason: 'too_large',
      detail: `${size} bytes > maxRecordBytes ${stream.maxRecordBytes}`,
    };
  let key: string | null = null;
  if (rec.key !== null) {
    if (rec.key.length > MAX_KEY_BYTES)
      return { ok: false, reason: 'invalid_key', detail: 'key longer than 1024 bytes' };
    key = rec.key.toString('utf8');
    if (key.includes('\uFFFD') && !Buffer.from(key, 'utf8').equals(rec.key))
      return { ok: false, reason: 'invalid_key', detail: 'key is not valid UTF-8' };
  }
  if (stream.mode === 'table' && (key === null || key === ''))
    return { ok: false, reason: 'missing_key', detail: 'table records need a key' };
  if (rec.value === null) {
    if (stream.mode === 'feed') return { ok: false, reason: 'invalid_json', detail: 'null value on a feed' };
    return { ok: true, record: { key, valueJson: null, createdAt: rec.timestamp } };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(rec.value.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: 'invalid_json', detail: (err as Error).message.slice(0, 200) };
  }
  if (exceedsDepth(parsed, MAX_JSON_DEPTH))
    return { ok: false, reason: 'too_deep', detail: `nesting deeper than ${MAX_JSON_DEPTH}` };
  let createdAt = rec.timestamp;
  if (stream.timestampField !== undefined) {
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      return { ok: false, reason: 'not_an_object', detail: `timestampField needs an object value` };
    const t = readTimestamp((parsed as Record<string, unknown>)[stream.timestampField]);
    if (t === null)
      return {
        ok: false,
        reason: 'bad_timestamp',
        detail: `field "${stream.timestampField}" is not epoch ms or ISO-8601`,
      };
    createdAt = t;
  }
  return { ok: true, record: { key, valueJson: JSON.stringify(parsed), createdAt } };
}

function readTimestamp(v: unknown): number | null {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
  if (typeof v === 'string') {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  return null;
}

/** Iterative, so a hostile document cannot overflow the stack while being measured. */
export function exceedsDepth(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v))
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return false;
}
