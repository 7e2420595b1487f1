/**
 * The pure parts of reading Kafka records: codec framings, the Metadata v12 codec of the lineage
 * request, trouble classification, and the cache's side of consumed positions and lineages.
 * (On the real broker with the Java client: test/integration/kafka-records.test.ts.)
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';
import { SnapshotCache } from '../../gateway/cache/snapshot-cache.ts';
import { CodecRefusedError, loadCodec, registerKafkaCodecs } from '../../gateway/source/kafka-codecs.ts';
import { decodeMetadataV12, encodeMetadataV12, lineageOf } from '../../gateway/source/kafka-lineage.ts';
import { MemorySource } from '../../gateway/source/memory-source.ts';
import { classifyTopicError } from '../../gateway/source/topic-errors.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';
import { loadConfig } from '../../gateway/switchyard.ts';

const require = createRequire(import.meta.url);

describe('codecs', () => {
  const data = Buffer.from(JSON.stringify({ pad: 'y'.repeat(100_000), n: 42 }));

  for (const name of ['gzip', 'snappy', 'lz4', 'zstd'] as const)
    test(`${name}: what we compress decompresses to the same bytes (also empty)`, async () => {
      const c = loadCodec(name);
      assert.deepEqual(await c.decompress(await c.compress(data)), data);
      assert.equal((await c.decompress(await c.compress(Buffer.alloc(0)))).length, 0);
    });

  test('snappy: xerial framing as snappy-java writes it, in 32 KiB blocks; a raw block is read too', async () => {
    const c = loadCodec('snappy');
    const framed = await c.compress(data);
    assert.deepEqual([...framed.subarray(0, 8)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
    assert.equal(framed.readInt32BE(8), 1);
    assert.equal(framed.readInt32BE(12), 1);
    let blocks = 0;
    for (let at = 16; at < framed.length; at += 4 + framed.readUInt32BE(at)) blocks++;
    assert.equal(blocks, Math.ceil(data.length / 32_768));
    const raw = (require('snappy') as { compressSync(b: Buffer): Buffer }).compressSync(data);
    assert.deepEqual(await c.decompress(raw), data);
    await assert.rejects(c.decompress(framed.subarray(0, framed.length - 3)), /truncated/);
  });

  test('a codec left out of KAFKA_CODECS refuses to decode, with its own error', async () => {
    const zstd = loadCodec('zstd');
    const frame = await zstd.compress(data);
    const kafkajs = (await import('kafkajs')).default;
    const table = kafkajs.CompressionCodecs as unknown as Record<
      number,
      () => { decompress(b: Buffer): Promise<Buffer> }
    >;
    try {
      registerKafkaCodecs(['gzip', 'snappy', 'lz4']);
      const err = await table[kafkajs.CompressionTypes.ZSTD]!()
        .decompress(frame)
        .catch((e: unknown) => e);
      assert.ok(err instanceof CodecRefusedError);
      assert.equal(classifyTopicError(err).reason, 'codec_refused');
    } finally {
      registerKafkaCodecs(['gzip', 'snappy', 'lz4', 'zstd']);
    }
    assert.deepEqual(await table[kafkajs.CompressionTypes.ZSTD]!().decompress(frame), data);
  });
});

describe('Metadata v12 (topic ids)', () => {
  test('the request body: header tags, two topics by name, no auto-creation', () => {
    const body = encodeMetadataV12(['ab']);
    // header tags, topics (n+1), id (16 zero bytes), name (len+1, "ab"), tags, auto-create, ops, tags
    assert.deepEqual([...body], [0, 2, ...new Array(16).fill(0), 3, 0x61, 0x62, 0, 0, 0, 0]);
  });

  test('the answer: cluster id, topic ids, a missing topic without an id', () => {
    const parts: number[] = [0, 0, 0, 0, 0]; // header tags, throttle
    parts.push(2, 0, 0, 0, 1, 4, ...Buffer.from('h:1'), 0, 0, 0x23, 0x84, 0, 0); // one broker
    parts.push(4, ...Buffer.from('cid'), 0, 0, 0, 1); // cluster id, controller
    parts.push(3); // two topics
    parts.push(
      0,
      0,
      2,
      0x74,
      ...new Array(15).fill(0),
      7,
      0,
      2,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      1,
      1,
      1,
      0,
    );
    parts.push(0, 0, 0, 0, 0); // topic_authorized_operations, tags
    parts.push(0, 3, 2, 0x75, ...new Array(16).fill(0), 0, 1, 0, 0, 0, 0, 0); // "u": error 3, no id
    parts.push(0); // tags
    const id = decodeMetadataV12(Buffer.from(parts));
    assert.equal(id.clusterId, 'cid');
    assert.deepEqual(id.topics.get('t'), { errorCode: 0, topicId: `${'0'.repeat(30)}07`, partitions: 1 });
    assert.deepEqual(id.topics.get('u'), { errorCode: 3, topicId: null, partitions: 0 });
    assert.equal(lineageOf(id, 't'), `cid/${'0'.repeat(30)}07`);
    assert.equal(lineageOf(id, 'u'), null);
  });
});

describe('trouble reasons', () => {
  const cases: Array<[unknown, string]> = [
    [
      Object.assign(new Error('This server does not host this topic-partition'), {
        type: 'UNKNOWN_TOPIC_OR_PARTITION',
      }),
      'topic_missing',
    ],
    [
      Object.assign(new Error('Not authorized to access topics: [t]'), {
        type: 'TOPIC_AUTHORIZATION_FAILED',
      }),
      'not_authorized',
    ],
    [new Error('incorrect header check'), 'corrupt_batch'],
    [
      Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' }),
      'broker_unreachable',
    ],
    [new Error('something else'), 'error'],
    [
      Object.assign(new Error('retries exceeded'), {
        name: 'KafkaJSNumberOfRetriesExceeded',
        cause: new Error('invalid block type'),
      }),
      'corrupt_batch',
    ],
  ];
  for (const [err, reason] of cases)
    test(`${(err as Error).message} -> ${reason}`, () =>
      assert.equal(classifyTopicError(err).reason, reason));
});

describe('cache: consumed positions and lineages', () => {
  const config = loadConfig({
    STREAMS: JSON.stringify([
      { name: 'totals', topic: 't', mode: 'table' },
      { name: 'orders', topic: 'o', mode: 'feed', maxItems: 3 },
    ]),
  });
  const rec = (topic: string, offset: number, key: string, value: string | null): SourceRecord => ({
    topic,
    partition: 0,
    offset,
    key: Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    timestamp: 1000 + offset,
  });

  test('a partition ending with a marker is caught up once the consumed position reaches the target', () => {
    const cache = new SnapshotCache({ streams: config.streams, historySize: 100 });
    cache.lineage('t', 'c/1');
    cache.lineage('o', 'c/2');
    cache.plan({ topic: 't', partition: 0, startOffset: 0, highWatermark: 4 });
    cache.plan({ topic: 'o', partition: 0, startOffset: 0, highWatermark: 0 });
    // offsets 0, 1: records; 2: aborted record; 3: abort marker.
    cache.apply('t', 0, [rec('t', 0, 'a', '1'), rec('t', 1, 'b', '2')], 2);
    assert.equal(cache.isReady(), false);
    cache.apply('t', 0, [], 4);
    assert.equal(cache.isReady(), true);
    assert.equal(cache.nextOffset('t', 0), 4);
    assert.equal(cache.streams.get('totals')!.position, '4');
    // Replays below the position are still ignored, and a lower consumedTo never moves it back.
    cache.apply('t', 0, [rec('t', 1, 'b', '9')], 2);
    assert.equal(cache.streams.get('totals')!.table!.get('b')!.valueJson, '2');
    assert.equal(cache.nextOffset('t', 0), 4);
  });

  test('a new lineage drops the stream, changes the lineage part of ids, and old updates are not replayed', async () => {
    const source = new MemorySource({ streams: config.streams });
    const cache = new SnapshotCache({ streams: config.streams, historySize: 100 });
    const replaced: string[] = [];
    cache.onReplaced({ before: () => {}, after: (s) => replaced.push(s.name) });
    source.produce('t', [{ key: 'old', value: '{"gen":1}' }]);
    await source.start(cache);
    assert.equal(cache.isReady(), true);
    const sel = new (await import('../../gateway/cache/selection.ts')).Selection([
      cache.streams.get('totals')!,
    ]);
    const before = sel.eventId();
    source.replace('t');
    assert.deepEqual(replaced, ['totals']);
    assert.equal(cache.streams.get('totals')!.table!.size, 0);
    assert.equal(cache.isReady(), true, 'an empty re-created topic is read at once');
    source.produce('t', [{ key: 'new', value: '{"gen":2}' }]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual([...cache.streams.get('totals')!.table!.keys()], ['new']);
    const after = sel.eventId();
    // `<set>-<lineage>:`: the set (stream names) stays, the lineage part changes (issue 17's format).
    assert.equal(before.split('-')[0], after.split('-')[0]);
    assert.notEqual(before.split(':')[0], after.split(':')[0], 'ids before the replacement no longer match');
    assert.equal(after.split(':')[1], '1');
    const replay = sel.replay(cache.history, [[0]]);
    assert.deepEqual(
      replay.map((r) => r.update.key),
      ['new'],
      'only updates of the current data are replayed',
    );
    // The same lineage again changes nothing.
    cache.lineage('t', 'memory:1');
    assert.deepEqual(replaced, ['totals']);
  });
});
