/**
 * Kafka input hardening without a broker: per-stream JSON Schemas (the checked subset, config
 * errors), hostile keys, the decoder with a schema, and the bounded dead-letter queue.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import { decodeRecord, findHostileKey } from '../../gateway/cache/record-decoder.ts';
import { SnapshotCache } from '../../gateway/cache/snapshot-cache.ts';
import { type StreamConfig, streamSchema } from '../../gateway/config/streams.ts';
import {
  compileRecordSchema,
  recordValidators,
  unsupportedKeywords,
} from '../../gateway/formats/record-schema.ts';
import {
  type DeadLetter,
  DeadLetterQueue,
  deadLetterHeaders,
} from '../../gateway/security/dead-letter-queue.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';
import { loadConfig } from '../../gateway/switchyard.ts';

const ORDER_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'order',
  type: 'object',
  required: ['id', 'amount'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', pattern: '^o-[0-9]+$', maxLength: 32 },
    amount: { type: 'number', minimum: 0 },
    country: { enum: ['fr', 'de', 'es'] },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 4 },
  },
};

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-schema-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const rec = (value: string | null, offset = 0, key: string | null = 'k'): SourceRecord => ({
  topic: 't',
  partition: 0,
  offset,
  key: key === null ? null : Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
  timestamp: 1000,
});

describe('record schemas', () => {
  test('the validator accepts conforming values and names the first problem of the others', () => {
    const v = compileRecordSchema(ORDER_SCHEMA);
    assert.equal(v({ id: 'o-1', amount: 3, country: 'fr', tags: ['a'] }), null);
    assert.match(v({ id: 'x', amount: 3 }) ?? '', /^id: /);
    assert.match(v({ id: 'o-1', amount: -1 }) ?? '', /^amount: /);
    assert.match(v({ id: 'o-1', amount: 1, extra: true }) ?? '', /extra/);
    assert.match(v({ id: 'o-1' }) ?? '', /amount/);
    assert.match(v({ id: 'o-1', amount: 1, country: 'xx' }) ?? '', /country/);
    assert.match(v([1, 2]) ?? '', /\(root\)/);
    assert.notEqual(v(null), null);
  });

  test('keywords outside the enforced subset are configuration errors, not silently ignored', () => {
    assert.deepEqual(unsupportedKeywords(ORDER_SCHEMA), []);
    assert.deepEqual(
      unsupportedKeywords({ type: 'object', properties: { a: { type: 'string', formatMaximum: 3 } } }),
      ['#/properties/a: unsupported keyword "formatMaximum"'],
    );
    assert.throws(
      () => compileRecordSchema(JSON.parse('{"if":{"type":"string"},"then":{"minLength":1}}')),
      /unsupported keyword "if"/,
    );
    assert.throws(() => compileRecordSchema({ $ref: 'https://example.com/s.json' }), /ref/i);
    assert.throws(
      () => compileRecordSchema({ anyOf: [{ type: 'string' }, { dependentRequired: {} }] }),
      /anyOf\/1/,
    );
    assert.throws(() => compileRecordSchema(42), /must be an object/);
  });

  test('STREAMS may name a schema file per stream; a missing or bad file fails start-up with its name', (t) => {
    const dir = tempDir(t);
    const good = join(dir, 'orders.schema.json');
    writeFileSync(good, JSON.stringify(ORDER_SCHEMA));
    const streams = (schema: string) =>
      JSON.stringify([
        { name: 'orders', mode: 'feed', topic: 'o', schema },
        { name: 'totals', mode: 'table', topic: 't' },
      ]);
    const config = loadConfig({ STREAMS: streams(good) });
    assert.equal(config.streams[0]!.schema, good);
    const validators = recordValidators(config.streams);
    assert.deepEqual([...validators.keys()], ['orders']);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"type": "object",');
    assert.throws(
      () => loadConfig({ STREAMS: streams(bad) }),
      /STREAMS\.orders\.schema: .*bad\.json: not valid JSON/,
    );
    assert.throws(
      () => loadConfig({ STREAMS: streams(join(dir, 'missing.json')) }),
      /STREAMS\.orders\.schema: .*ENOENT/,
    );
    const unsupported = join(dir, 'unsupported.json');
    writeFileSync(unsupported, '{"type":"object","unevaluatedProperties":false}');
    assert.throws(
      () => loadConfig({ STREAMS: streams(unsupported) }),
      /unsupported keyword "unevaluatedProperties"/,
    );
  });
});

describe('decoding hostile records', () => {
  const feed = streamSchema.parse({
    name: 'orders',
    mode: 'feed',
    topic: 't',
    maxRecordBytes: 4096,
  }) as StreamConfig;

  test('__proto__ anywhere and constructor.prototype are refused as hostile_key; lookalikes are data', () => {
    for (const value of [
      '{"__proto__":{"admin":true}}',
      '{"a":[{"b":{"__proto__":1}}]}',
      '{"constructor":{"prototype":{"x":1}}}',
      '[{"__proto__":null}]',
    ]) {
      const d = decodeRecord(feed, rec(value));
      assert.equal(d.ok, false, value);
      assert.equal(!d.ok && d.reason, 'hostile_key', value);
    }
    for (const value of [
      '{"proto":1}',
      '{"constructor":"x"}',
      '{"constructor":{"name":"y"}}',
      '"__proto__"',
      '{"a":"__proto__"}',
    ])
      assert.equal(decodeRecord(feed, rec(value)).ok, true, value);
  });

  test('a schema rejection is reason "schema" with the first problem as detail', () => {
    const v = compileRecordSchema(ORDER_SCHEMA);
    const ok = decodeRecord(feed, rec('{"id":"o-7","amount":1}'), v);
    assert.equal(ok.ok, true);
    const bad = decodeRecord(feed, rec('{"id":"o-7","amount":"1"}'), v);
    assert.deepEqual(bad.ok ? null : [bad.reason, bad.detail.startsWith('amount: ')], ['schema', true]);
  });

  test('property: decodeRecord never throws, and anything it accepts is single-line JSON without hostile keys', () => {
    const v = compileRecordSchema({ type: 'object' });
    const hostileJson = fc.oneof(
      fc.json({ maxDepth: 6 }),
      fc.jsonValue({ maxDepth: 4 }).map((j) => `{"__proto__":${JSON.stringify(j)}}`),
      fc.nat(60).map((n) => '['.repeat(n) + ']'.repeat(n)),
      fc.string({ unit: 'binary', maxLength: 200 }),
    );
    fc.assert(
      fc.property(
        hostileJson,
        fc.option(fc.string({ unit: 'binary', maxLength: 40 })),
        fc.boolean(),
        (value, key, useSchema) => {
          const d = decodeRecord(feed, rec(value, 0, key), useSchema ? v : undefined);
          if (!d.ok) return typeof d.detail === 'string';
          const json = d.record.valueJson!;
          return !/[\r\n]/.test(json) && findHostileKey(JSON.parse(json)) === null;
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('the cache applies a schema per stream: rejects are counted with coordinates, the position moves on', () => {
    const rejected: Array<{ reason: string; offset: number }> = [];
    const cache = new SnapshotCache({
      streams: [feed],
      historySize: 100,
      now: () => 5000,
      observer: {
        applied() {},
        evicted() {},
        rejected: (_s, reason, c) => rejected.push({ reason, offset: c.offset }),
      },
      validators: new Map([['orders', compileRecordSchema(ORDER_SCHEMA)]]),
    });
    cache.plan({ topic: 't', partition: 0, startOffset: 0, highWatermark: 0 });
    cache.apply('t', 0, [
      rec('{"id":"o-1","amount":1}', 0),
      rec('{"id":"o-2","amount":-5}', 1),
      rec('{"id":"o-3","amount":2,"__proto__":{}}', 2),
      rec('{"id":"o-4","amount":4}', 3),
    ]);
    assert.deepEqual(rejected, [
      { reason: 'schema', offset: 1 },
      { reason: 'hostile_key', offset: 2 },
    ]);
    assert.equal(cache.streams.get('orders')!.position, '4');
    const items = JSON.parse(cache.streams.get('orders')!.render()).items.map(
      (i: { value: { id: string } }) => i.value.id,
    );
    assert.deepEqual(items, ['o-1', 'o-4']);
  });
});

describe('dead-letter queue', () => {
  const silent = pino({ level: 'silent' });
  const letter = (offset: number, bytes = 10): DeadLetter => ({
    stream: 'orders',
    reason: 'invalid_json',
    detail: 'Unexpected token',
    topic: 't',
    partition: 0,
    offset,
    key: Buffer.from('k'),
    value: Buffer.alloc(bytes, 120),
    timestamp: 1,
  });

  test('offer() never waits: letters go out in batches, in order, after the current tick', async () => {
    const sent: number[][] = [];
    const results: string[] = [];
    const q = new DeadLetterQueue({
      logger: silent,
      batchSize: 3,
      send: async (batch) => {
        sent.push(batch.map((l) => l.offset));
      },
      onResult: (r, n) => results.push(`${r}:${n}`),
    });
    for (let i = 0; i < 7; i++) assert.equal(q.offer(letter(i)), true);
    assert.deepEqual(sent, [], 'nothing is sent synchronously');
    await q.stop();
    assert.deepEqual(sent, [[0, 1, 2], [3, 4, 5], [6]]);
    assert.deepEqual(results, ['sent:3', 'sent:3', 'sent:1']);
  });

  test('bounded: past maxRecords or maxBytes letters are dropped and counted; a dead topic never blocks', async () => {
    const results: Record<string, number> = {};
    let attempts = 0;
    const q = new DeadLetterQueue({
      logger: silent,
      maxRecords: 5,
      maxBytes: 100_000,
      maxRetryMs: 50,
      send: async () => {
        attempts++;
        throw new Error('broker down');
      },
      onResult: (r, n) => {
        results[r] = (results[r] ?? 0) + n;
      },
    });
    for (let i = 0; i < 20; i++) q.offer(letter(i));
    assert.equal(q.pending, 5);
    assert.equal(results.dropped, 15);
    assert.equal(q.offer(letter(99, 200_000)), false, 'one huge letter does not fit the byte bound');
    while (attempts < 3) await new Promise((r) => setTimeout(r, 10));
    await q.stop(100);
    assert.equal(results.dropped, 16 + 5, 'what could not be sent by stop() is dropped and counted');
    assert.ok((results.failed ?? 0) >= 3 * 5);
    assert.equal(q.offer(letter(100)), false, 'nothing is accepted after stop');
  });

  test('a failed batch is retried and then delivered once the topic is back', async () => {
    let failures = 0;
    const sent: number[] = [];
    const q = new DeadLetterQueue({
      logger: silent,
      maxRetryMs: 20,
      send: async (batch) => {
        if (failures < 2) {
          failures++;
          throw new Error('not yet');
        }
        sent.push(...batch.map((l) => l.offset));
      },
    });
    q.offer(letter(1));
    q.offer(letter(2));
    while (sent.length < 2) await new Promise((r) => setTimeout(r, 10));
    assert.equal(failures, 2);
    assert.deepEqual(sent, [1, 2], 'delivered once, in order, after two failed attempts');
    await q.stop();
  });

  test('headers carry the coordinates and the reason', () => {
    assert.deepEqual(deadLetterHeaders(letter(42)), {
      'switchyard-stream': 'orders',
      'switchyard-reason': 'invalid_json',
      'switchyard-detail': 'Unexpected token',
      'switchyard-topic': 't',
      'switchyard-partition': '0',
      'switchyard-offset': '42',
      'switchyard-timestamp': '1',
    });
  });
});
