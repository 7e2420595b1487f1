import { isUtf8 } from 'node:buffer';
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
  | 'hostile_key'
  | 'schema'
  // Schema Registry formats (gateway/formats/):
  | 'not_framed'
  | 'unknown_schema'
  | 'registry_unavailable'
  | 'undecodable';

/** A registry-format value or key turned into a JSON-safe value, or why not. */
export type FormatResult = { ok: true; value: unknown } | { ok: false; reason: RejectReason; detail: string };

/**
 * Synchronous decoders of the Schema Registry formats a stream names in `format` / `keyFormat`
 * (gateway/formats/schema-formats.ts); their schemas are fetched before the batch is applied.
 */
export interface FormatDecoders {
  value(stream: StreamConfig, bytes: Buffer): FormatResult;
  key(stream: StreamConfig, bytes: Buffer): FormatResult;
}

/**
 * A stream's optional record schema (gateway/formats/record-schema.ts builds one from the
 * stream's `schema` file): null when the parsed value conforms, else a short reason.
 */
export type RecordValidator = (value: unknown) => string | null;

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
export function decodeRecord(
  stream: StreamConfig,
  rec: SourceRecord,
  validate?: RecordValidator,
  formats?: FormatDecoders,
): DecodeResult {
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
    if (stream.keyFormat !== 'string') {
      const decoded = decodeFormat(stream, rec.key, 'key', formats);
      if (!decoded.ok) return { ok: false, reason: decoded.reason, detail: `key: ${decoded.detail}` };
      // A string key is itself; a record key is its JSON (the same on every instance).
      key = typeof decoded.value === 'string' ? decoded.value : JSON.stringify(decoded.value);
      if (Buffer.byteLength(key) > MAX_KEY_BYTES)
        return { ok: false, reason: 'invalid_key', detail: 'decoded key longer than 1024 bytes' };
    } else {
      key = rec.key.toString('utf8');
      if (key.includes('\uFFFD') && !Buffer.from(key, 'utf8').equals(rec.key))
        return { ok: false, reason: 'invalid_key', detail: 'key is not valid UTF-8' };
    }
  }
  if (stream.mode === 'table' && (key === null || key === ''))
    return { ok: false, reason: 'missing_key', detail: 'table records need a key' };
  if (rec.value === null) {
    if (stream.mode === 'feed') return { ok: false, reason: 'invalid_json', detail: 'null value on a feed' };
    return { ok: true, record: { key, valueJson: null, createdAt: rec.timestamp } };
  }
  let parsed: unknown;
  if (stream.format !== 'json') {
    // Binary formats (Avro, Protobuf, framed JSON Schema): their decoders check their own bytes.
    const decoded = decodeFormat(stream, rec.value, 'value', formats);
    if (!decoded.ok) return decoded;
    parsed = decoded.value;
  } else {
    // JSON is UTF-8 (RFC 8259): a bad byte would otherwise reach clients as U+FFFD.
    if (!isUtf8(rec.value)) return { ok: false, reason: 'invalid_json', detail: 'value is not valid UTF-8' };
    try {
      parsed = JSON.parse(rec.value.toString('utf8'));
    } catch (err) {
      return { ok: false, reason: 'invalid_json', detail: (err as Error).message.slice(0, 200) };
    }
  }
  if (exceedsDepth(parsed, MAX_JSON_DEPTH))
    return { ok: false, reason: 'too_deep', detail: `nesting deeper than ${MAX_JSON_DEPTH}` };
  const hostile = findHostileKey(parsed);
  if (hostile !== null) return { ok: false, reason: 'hostile_key', detail: `key "${hostile}" is refused` };
  if (validate) {
    const problem = validate(parsed);
    if (problem !== null) return { ok: false, reason: 'schema', detail: problem };
  }
  let createdAt = rec.timestamp;
  const field = stream.timestampField;
  // Own properties only: a field named `constructor` or `__proto__` must not read the prototype.
  // A record without the field keeps the Kafka timestamp (its data is still good); a field that
  // is present but not a timestamp is a producer bug, skipped and counted like bad JSON.
  if (field !== undefined && parsed !== null && typeof parsed === 'object' && Object.hasOwn(parsed, field)) {
    const t = readTimestamp((parsed as Record<string, unknown>)[field]);
    if (t === null)
      return {
        ok: false,
        reason: 'bad_timestamp',
        detail: `field "${field}" is not epoch ms or ISO-8601 with a time zone`,
      };
    createdAt = t;
  }
  return { ok: true, record: { key, valueJson: JSON.stringify(parsed), createdAt } };
}

function decodeFormat(
  stream: StreamConfig,
  bytes: Buffer,
  part: 'key' | 'value',
  formats: FormatDecoders | undefined,
): FormatResult {
  if (!formats) return { ok: false, reason: 'undecodable', detail: 'no schema registry configured' };
  return part === 'key' ? formats.key(stream, bytes) : formats.value(stream, bytes);
}

/**
 * ISO-8601 date, or date-time with `Z` or an offset. Date.parse alone is too lenient ("1" parses
 * as the year 2001) and reads zone-less date-times in the server's local time, which would make
 * createdAt differ between instances in different time zones.
 */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function readTimestamp(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? v : null;
  if (typeof v === 'string' && ISO_8601.test(v)) {
    const t = Date.parse(v);
    return Number.isFinite(t) ? t : null;
  }
  return null;
}

/**
 * `__proto__` anywhere, or `constructor.prototype`: harmless to JSON.parse, but a prototype
 * pollution payload for any client that merges the value into an object (Object.assign, lodash
 * merge...). Such records never reach a client. Iterative; call after the depth check.
 */
export function findHostileKey(value: unknown): string | null {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (!Array.isArray(v)) {
      if (Object.hasOwn(v, '__proto__')) return '__proto__';
      const c = (v as Record<string, unknown>).constructor;
      if (
        Object.hasOwn(v, 'constructor') &&
        c !== null &&
        typeof c === 'object' &&
        Object.hasOwn(c, 'prototype')
      )
        return 'constructor.prototype';
    }
    for (const child of Object.values(v)) if (child !== null && typeof child === 'object') stack.push(child);
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
