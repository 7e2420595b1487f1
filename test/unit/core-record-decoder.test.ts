/** The record decoder: what may enter the cache, and in which form. Pure, never throws. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeRecord,
  exceedsDepth,
  MAX_JSON_DEPTH,
  MAX_KEY_BYTES,
} from '../../gateway/cache/record-decoder.ts';
import { type StreamConfig, streamSchema } from '../../gateway/config/streams.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';

const table = (extra: Partial<StreamConfig> = {}): StreamConfig =>
  streamSchema.parse({ name: 't', topic: 'topic.t', mode: 'table', ...extra });
const feed = (extra: Partial<StreamConfig> = {}): StreamConfig =>
  streamSchema.parse({ name: 'f', topic: 'topic.f', mode: 'feed', ...extra });

function rec(key: string | Buffer | null, value: string | Buffer | null, timestamp = 1_000): SourceRecord {
  return {
    topic: 'topic',
    partition: 0,
    offset: 0,
    key: key === null ? null : Buffer.isBuffer(key) ? key : Buffer.from(key),
    value: value === null ? null : Buffer.isBuffer(value) ? value : Buffer.from(value),
    timestamp,
  };
}

function rejected(r: ReturnType<typeof decodeRecord>): string {
  assert.equal(r.ok, false, 'expected a rejection');
  return (r as { reason: string }).reason;
}

function accepted(r: ReturnType<typeof decodeRecord>) {
  if (!r.ok) assert.fail(`expected acceptance, got ${r.reason}: ${r.detail}`);
  return r.record;
}

describe('decodeRecord', () => {
  test('valid JSON is re-serialised on one line, with the record timestamp', () => {
    const r = accepted(decodeRecord(table(), rec('k', '{\n  "a": 1,\r\n  "b": "x"\n}', 42)));
    assert.deepEqual(r, { key: 'k', valueJson: '{"a":1,"b":"x"}', createdAt: 42 });
  });

  test('invalid JSON is rejected', () => {
    for (const bad of ['{', 'undefined', "{'a':1}", '', '\uFEFF{}x', '{"a":1}garbage'])
      assert.equal(rejected(decodeRecord(table(), rec('k', bad))), 'invalid_json', bad);
  });

  test('a value that is not valid UTF-8 is rejected as invalid JSON, not served as U+FFFD', () => {
    // "{"a":"x\xFFy"}": a stray byte inside a string; and a truncated 3-byte sequence.
    const stray = Buffer.concat([Buffer.from('{"a":"x'), Buffer.from([0xff]), Buffer.from('y"}')]);
    const truncated = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xe0, 0xa4]), Buffer.from('"}')]);
    for (const bad of [stray, truncated]) {
      const r = decodeRecord(table(), rec('k', bad));
      assert.equal(rejected(r), 'invalid_json');
      assert.match((r as { detail: string }).detail, /UTF-8/);
    }
    // Real multi-byte text and an escaped U+FFFD are fine.
    assert.equal(
      accepted(decodeRecord(table(), rec('k', '{"a":"Zürich \\uFFFD ✓"}'))).valueJson,
      '{"a":"Zürich � ✓"}',
    );
  });

  test('too large (key + value) is rejected before parsing', () => {
    const s = table({ maxRecordBytes: 100 });
    assert.equal(rejected(decodeRecord(s, rec('k', `"${'x'.repeat(200)}"`))), 'too_large');
    assert.equal(rejected(decodeRecord(s, rec('k'.repeat(60), `"${'x'.repeat(45)}"`))), 'too_large');
    accepted(decodeRecord(s, rec('k', `"${'x'.repeat(90)}"`)));
  });

  test('a table record without a key (or with an empty key) is rejected; a feed accepts it', () => {
    assert.equal(rejected(decodeRecord(table(), rec(null, '{}'))), 'missing_key');
    assert.equal(rejected(decodeRecord(table(), rec('', '{}'))), 'missing_key');
    assert.equal(accepted(decodeRecord(feed(), rec(null, '{}'))).key, null);
  });

  test('a key longer than MAX_KEY_BYTES or not UTF-8 is rejected', () => {
    assert.equal(rejected(decodeRecord(table(), rec('k'.repeat(MAX_KEY_BYTES + 1), '{}'))), 'invalid_key');
    assert.equal(rejected(decodeRecord(table(), rec(Buffer.from([0x61, 0xff, 0x62]), '{}'))), 'invalid_key');
    // A real U+FFFD in the key is valid UTF-8 and kept.
    assert.equal(accepted(decodeRecord(table(), rec('a\uFFFDb', '{}'))).key, 'a\uFFFDb');
  });

  test('null value: a table tombstone, rejected on a feed', () => {
    assert.deepEqual(accepted(decodeRecord(table(), rec('k', null, 7))), {
      key: 'k',
      valueJson: null,
      createdAt: 7,
    });
    assert.equal(rejected(decodeRecord(feed(), rec('k', null))), 'invalid_json');
  });

  test('a JSON null value is data, not a tombstone', () => {
    assert.equal(accepted(decodeRecord(table(), rec('k', 'null'))).valueJson, 'null');
  });

  test('depth bomb is rejected without overflowing the stack', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    assert.equal(rejected(decodeRecord(table({ maxRecordBytes: 1_000_000 }), rec('k', deep))), 'too_deep');
    const objDeep = `${'{"a":'.repeat(MAX_JSON_DEPTH + 1)}1${'}'.repeat(MAX_JSON_DEPTH + 1)}`;
    assert.equal(rejected(decodeRecord(table(), rec('k', objDeep))), 'too_deep');
    const atLimit = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    accepted(decodeRecord(table(), rec('k', atLimit)));
    assert.equal(exceedsDepth({ a: [{ b: 1 }] }, 3), false);
    assert.equal(exceedsDepth({ a: [{ b: {} }] }, 3), true);
  });

  describe('timestampField', () => {
    const s = table({ timestampField: 'ts' });
    test('epoch ms number', () => {
      assert.equal(accepted(decodeRecord(s, rec('k', '{"ts":1700000000123}', 5))).createdAt, 1700000000123);
    });
    test('ISO-8601 with Z or an offset, and a date', () => {
      assert.equal(
        accepted(decodeRecord(s, rec('k', '{"ts":"2024-11-29T10:00:00.5Z"}'))).createdAt,
        Date.UTC(2024, 10, 29, 10, 0, 0, 500),
      );
      assert.equal(
        accepted(decodeRecord(s, rec('k', '{"ts":"2024-11-29T12:00:00+02:00"}'))).createdAt,
        Date.UTC(2024, 10, 29, 10),
      );
      assert.equal(
        accepted(decodeRecord(s, rec('k', '{"ts":"2024-11-29"}'))).createdAt,
        Date.UTC(2024, 10, 29),
      );
    });
    test('missing field (or a non-object value) keeps the record timestamp', () => {
      assert.equal(accepted(decodeRecord(s, rec('k', '{"other":1}', 99))).createdAt, 99);
      assert.equal(accepted(decodeRecord(s, rec('k', '[1,2]', 98))).createdAt, 98);
      assert.equal(accepted(decodeRecord(s, rec('k', '"text"', 97))).createdAt, 97);
    });
    test('a present field that is not a timestamp is rejected', () => {
      for (const v of [
        '"soon"',
        '"1"',
        '"2024-11-29T10:00:00"',
        '-5',
        '0',
        'null',
        'true',
        '{}',
        '"1700000000000"',
      ])
        assert.equal(rejected(decodeRecord(s, rec('k', `{"ts":${v}}`))), 'bad_timestamp', v);
    });
    test('prototype names are never read from the prototype chain', () => {
      for (const field of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
        const r = accepted(decodeRecord(table({ timestampField: field }), rec('k', '{"a":1}', 11)));
        assert.equal(r.createdAt, 11, field);
      }
      const own = accepted(
        decodeRecord(table({ timestampField: 'constructor' }), rec('k', '{"constructor":1234}', 1)),
      );
      assert.equal(own.createdAt, 1234);
    });
    test('a tombstone keeps the record timestamp', () => {
      assert.equal(accepted(decodeRecord(s, rec('k', null, 55))).createdAt, 55);
    });
  });

  test('keys with CR/LF are kept as data (escaped wherever they are serialised)', () => {
    const r = accepted(decodeRecord(table(), rec('a\r\nevent: x\n\nb', '{"v":"\\n"}')));
    assert.equal(r.key, 'a\r\nevent: x\n\nb');
    assert.ok(!/[\r\n]/.test(r.valueJson!));
  });

  test('__proto__ inside values is refused as hostile_key, at any depth, and pollutes nothing', () => {
    for (const v of ['{"__proto__":{"polluted":true}}', '{"a":[{"b":{"__proto__":{"polluted":true}}}]}'])
      assert.equal(rejected(decodeRecord(table(), rec('k', v))), 'hostile_key', v);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  test('a __proto__ record key is plain data (values are checked, keys are strings)', () => {
    assert.equal(accepted(decodeRecord(table(), rec('__proto__', '{"a":1}'))).key, '__proto__');
  });
});
