/** SnapshotCache: applying records, positions, bounds, readiness. Pure: no timers, injected clock. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SnapshotCache } from '../../gateway/cache/snapshot-cache.ts';
import type { AppliedUpdate, CacheObserver } from '../../gateway/cache/types.ts';
import { type StreamConfig, streamSchema } from '../../gateway/config/streams.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';

const stream = (o: Partial<StreamConfig> & Pick<StreamConfig, 'name' | 'mode'>): StreamConfig =>
  streamSchema.parse({ topic: `topic.${o.name}`, ...o });

interface Counters {
  rejected: Array<{ stream: string; reason: string; offset: number }>;
  evicted: Array<{ stream: string; reason: string }>;
  applied: number;
}

function setup(streams: StreamConfig[], historySize = 100) {
  let clock = 1_000_000;
  const counters: Counters = { rejected: [], evicted: [], applied: 0 };
  const observer: CacheObserver = {
    applied: () => counters.applied++,
    rejected: (s, reason, c) => counters.rejected.push({ stream: s, reason, offset: c.offset }),
    evicted: (s, reason) => counters.evicted.push({ stream: s, reason }),
  };
  const cache = new SnapshotCache({ streams, historySize, now: () => clock, observer });
  const emitted: AppliedUpdate[] = [];
  cache.onUpdates((u) => emitted.push(...u));
  const offsets = new Map<string, number>();
  /** Appends records to topic/partition with consecutive offsets (or explicit ones). */
  const feedRecords = (
    name: string,
    partition: number,
    recs: Array<{ key?: string | null; value: string | null; offset?: number; ts?: number }>,
  ): void => {
    const topic = `topic.${name}`;
    const k = `${topic}/${partition}`;
    const list: SourceRecord[] = recs.map((r) => {
      const offset = r.offset ?? offsets.get(k) ?? 0;
      offsets.set(k, offset + 1);
      return {
        topic,
        partition,
        offset,
        key: r.key === undefined || r.key === null ? null : Buffer.from(r.key),
        value: r.value === null ? null : Buffer.from(r.value),
        timestamp: r.ts ?? clock,
      };
    });
    cache.apply(topic, partition, list);
  };
  return {
    cache,
    counters,
    emitted,
    feedRecords,
    advance: (ms: number) => {
      clock += ms;
    },
    now: () => clock,
  };
}

const tableJson = (cache: SnapshotCache, name: string): Record<string, { value: unknown }> =>
  JSON.parse(cache.streams.get(name)!.render()).entries;

describe('SnapshotCache', () => {
  test('table: upsert, update, delete; the position advances per record', () => {
    const { cache, feedRecords, emitted } = setup([stream({ name: 't', mode: 'table' })]);
    cache.plan({ topic: 'topic.t', partition: 0, startOffset: 0, highWatermark: 0 });
    feedRecords('t', 0, [
      { key: 'a', value: '{"n":1}' },
      { key: 'b', value: '{"n":2}' },
      { key: 'a', value: '{"n":3}' },
      { key: 'b', value: null },
      { key: 'zz', value: null }, // delete of an absent key: advances, emits nothing
    ]);
    const s = cache.streams.get('t')!;
    assert.deepEqual(
      emitted.map((u) => [u.op, u.key, u.offset]),
      [
        ['upsert', 'a', 0],
        ['upsert', 'b', 1],
        ['upsert', 'a', 2],
        ['delete', 'b', 3],
      ],
    );
    assert.equal(s.position, '5');
    assert.deepEqual(Object.keys(tableJson(cache, 't')), ['a']);
    assert.deepEqual(tableJson(cache, 't').a!.value, { n: 3 });
    assert.deepEqual(JSON.parse(emitted[3]!.data), {
      stream: 't',
      op: 'delete',
      key: 'b',
      createdAt: emitted[3]!.createdAt,
      appliedAt: emitted[3]!.appliedAt,
    });
  });

  test('every update carries createdAt (record time) and appliedAt (gateway clock)', () => {
    const { cache, feedRecords, emitted, now } = setup([stream({ name: 't', mode: 'table' })]);
    feedRecords('t', 0, [{ key: 'a', value: '1', ts: 123 }]);
    const d = JSON.parse(emitted[0]!.data);
    assert.equal(d.createdAt, 123);
    assert.equal(d.appliedAt, now());
    assert.equal(JSON.parse(cache.streams.get('t')!.render()).entries.a.createdAt, 123);
  });

  test('feed: keeps the newest maxItems, oldest first', () => {
    const { cache, feedRecords } = setup([stream({ name: 'f', mode: 'feed', maxItems: 3 })]);
    feedRecords(
      'f',
      0,
      [1, 2, 3, 4, 5].map((n) => ({ key: `k${n}`, value: String(n) })),
    );
    const body = JSON.parse(cache.streams.get('f')!.render());
    assert.equal(body.mode, 'feed');
    assert.equal(body.maxItems, 3);
    assert.deepEqual(
      body.items.map((i: { value: number }) => i.value),
      [3, 4, 5],
    );
    assert.equal(cache.streams.get('f')!.size, 3);
  });

  test('LRU eviction produces delete updates, counted, with a replay-safe id', () => {
    const { cache, feedRecords, emitted, counters } = setup([
      stream({ name: 't', mode: 'table', maxKeys: 2 }),
    ]);
    feedRecords('t', 0, [
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    const before = cache.streams.get('t')!.position;
    feedRecords('t', 0, [{ key: 'c', value: '3' }]);
    const last = emitted.slice(-2);
    assert.deepEqual(
      last.map((u) => [u.op, u.key]),
      [
        ['delete', 'a'],
        ['upsert', 'c'],
      ],
    );
    assert.deepEqual(counters.evicted, [{ stream: 't', reason: 'capacity' }]);
    assert.deepEqual(Object.keys(tableJson(cache, 't')).sort(), ['b', 'c']);
    // The eviction does not complete the record that caused it: its id must not claim that
    // offset, or a client cut between the two events would resume past the upsert.
    assert.equal(last[0]!.streamPos, before);
    assert.equal(last[1]!.streamPos, cache.streams.get('t')!.position);
  });

  test('TTL: the sweep deletes expired rows (injected clock), counted as expired', () => {
    const { cache, feedRecords, emitted, counters, advance } = setup([
      stream({ name: 't', mode: 'table', ttlMs: 1000 }),
    ]);
    feedRecords('t', 0, [{ key: 'old', value: '1' }]);
    advance(600);
    feedRecords('t', 0, [{ key: 'young', value: '2' }]);
    cache.streams.get('t')!.render(); // reads the LRU right before the clock moves
    advance(500);
    cache.sweepExpired();
    assert.deepEqual(
      emitted.filter((u) => u.op === 'delete').map((u) => u.key),
      ['old'],
    );
    assert.deepEqual(counters.evicted, [{ stream: 't', reason: 'expired' }]);
    assert.deepEqual(Object.keys(tableJson(cache, 't')), ['young']);
    advance(600);
    cache.sweepExpired();
    assert.deepEqual(
      emitted.filter((u) => u.op === 'delete').map((u) => u.key),
      ['old', 'young'],
    );
    assert.deepEqual(tableJson(cache, 't'), {});
  });

  test('TTL: a row updated in time is not expired', () => {
    const { cache, feedRecords, emitted, advance } = setup([
      stream({ name: 't', mode: 'table', ttlMs: 1000 }),
    ]);
    feedRecords('t', 0, [{ key: 'a', value: '1' }]);
    advance(900);
    feedRecords('t', 0, [{ key: 'a', value: '2' }]);
    advance(900);
    cache.sweepExpired();
    assert.equal(emitted.filter((u) => u.op === 'delete').length, 0);
  });

  test('duplicates (offset below the position) are ignored; gaps (compaction) are fine', () => {
    const { cache, feedRecords, emitted } = setup([stream({ name: 't', mode: 'table' })]);
    feedRecords('t', 0, [
      { key: 'a', value: '1', offset: 0 },
      { key: 'b', value: '2', offset: 5 },
    ]);
    assert.equal(cache.streams.get('t')!.position, '6');
    feedRecords('t', 0, [
      { key: 'a', value: '"dup"', offset: 0 },
      { key: 'b', value: '"dup"', offset: 5 },
      { key: 'c', value: '3', offset: 9 },
    ]);
    assert.deepEqual(
      emitted.map((u) => [u.key, u.offset]),
      [
        ['a', 0],
        ['b', 5],
        ['c', 9],
      ],
    );
    assert.equal(cache.streams.get('t')!.position, '10');
    assert.deepEqual(tableJson(cache, 't').a!.value, 1);
  });

  test('a bad record between two good ones is skipped, counted, and the position still advances', () => {
    const { cache, feedRecords, emitted, counters } = setup([stream({ name: 't', mode: 'table' })]);
    feedRecords('t', 0, [
      { key: 'a', value: '1' },
      { key: 'b', value: '{not json' },
      { key: 'c', value: '3' },
      { key: null, value: '4' },
    ]);
    assert.deepEqual(
      emitted.map((u) => u.key),
      ['a', 'c'],
    );
    assert.deepEqual(counters.rejected, [
      { stream: 't', reason: 'invalid_json', offset: 1 },
      { stream: 't', reason: 'missing_key', offset: 3 },
    ]);
    assert.equal(cache.streams.get('t')!.position, '4');
    assert.equal(cache.nextOffset('topic.t', 0), 4);
  });

  test('keys with CR/LF and __proto__ are plain data in the cache and in the snapshot JSON', () => {
    const { cache, feedRecords, emitted } = setup([stream({ name: 't', mode: 'table' })]);
    feedRecords('t', 0, [
      { key: '__proto__', value: '{"polluted":true}' },
      { key: 'constructor', value: '1' },
      { key: 'a\r\nb\n\nevent: x', value: '{"nested":{"prototype":{"x":1}}}' },
    ]);
    const s = cache.streams.get('t')!;
    assert.equal(s.size, 3);
    assert.deepEqual(s.table!.get('__proto__')!.valueJson, '{"polluted":true}');
    const text = s.render();
    assert.ok(!/[\r\n]/.test(text), 'snapshot JSON is one line');
    const entries = JSON.parse(text).entries;
    assert.ok(Object.hasOwn(entries, '__proto__'), 'the snapshot JSON contains the __proto__ key');
    assert.ok(Object.hasOwn(entries, 'a\r\nb\n\nevent: x'));
    assert.deepEqual(entries['a\r\nb\n\nevent: x'].value, { nested: { prototype: { x: 1 } } });
    assert.ok(text.includes('"__proto__":{"value":{"polluted":true}'));
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    for (const u of emitted) assert.ok(!/[\r\n]/.test(u.data));
    assert.equal(JSON.parse(emitted[2]!.data).key, 'a\r\nb\n\nevent: x');
  });

  test('a value carrying __proto__ is skipped and counted (prototype-pollution payload, gateway/security)', () => {
    const { cache, feedRecords, emitted, counters } = setup([stream({ name: 't', mode: 'table' })]);
    feedRecords('t', 0, [
      { key: 'a', value: '{"__proto__":{"polluted":true}}' },
      { key: 'b', value: '1' },
    ]);
    assert.deepEqual(
      emitted.map((u) => u.key),
      ['b'],
    );
    assert.deepEqual(counters.rejected, [{ stream: 't', reason: 'hostile_key', offset: 0 }]);
    assert.equal(cache.streams.get('t')!.position, '2');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  describe('readiness', () => {
    test('false before any plan, false until every target is reached', () => {
      const { cache, feedRecords } = setup([
        stream({ name: 't', mode: 'table' }),
        stream({ name: 'f', mode: 'feed' }),
      ]);
      assert.equal(cache.isReady(), false);
      cache.plan({ topic: 'topic.t', partition: 0, startOffset: 0, highWatermark: 2 });
      cache.plan({ topic: 'topic.t', partition: 1, startOffset: 0, highWatermark: 0 });
      cache.plan({ topic: 'topic.f', partition: 0, startOffset: 3, highWatermark: 4 });
      assert.equal(cache.isReady(), false);
      feedRecords('t', 0, [{ key: 'a', value: '1' }]);
      assert.equal(cache.isReady(), false);
      feedRecords('t', 0, [{ key: 'b', value: 'bad json' }]); // a skipped record counts too
      assert.equal(cache.isReady(), false);
      feedRecords('f', 0, [{ value: '1', offset: 3 }]);
      assert.equal(cache.isReady(), true);
    });

    test('empty partitions are ready at once; a feed starts at its planned offset', () => {
      const { cache } = setup([stream({ name: 'f', mode: 'feed' })]);
      cache.plan({ topic: 'topic.f', partition: 0, startOffset: 0, highWatermark: 0 });
      cache.plan({ topic: 'topic.f', partition: 1, startOffset: 7, highWatermark: 7 });
      assert.equal(cache.isReady(), true);
      assert.equal(cache.streams.get('f')!.position, '0.7');
      assert.equal(cache.nextOffset('topic.f', 1), 7);
      assert.equal(cache.nextOffset('topic.f', 2), undefined);
      assert.equal(cache.nextOffset('topic.other', 0), undefined);
    });
  });

  test('records of unknown topics are ignored', () => {
    const { cache, emitted } = setup([stream({ name: 't', mode: 'table' })]);
    cache.apply('nope', 0, [
      { topic: 'nope', partition: 0, offset: 0, key: null, value: null, timestamp: 1 },
    ]);
    assert.equal(emitted.length, 0);
  });

  test('stream versions change with data and position; render is cached per version', () => {
    const { cache, feedRecords } = setup([stream({ name: 't', mode: 'table' })]);
    const s = cache.streams.get('t')!;
    const r1 = s.render();
    assert.equal(s.render(), r1);
    const v = s.version;
    feedRecords('t', 0, [{ key: 'a', value: '1' }]);
    assert.ok(s.version > v);
    assert.notEqual(s.render(), r1);
  });
});
