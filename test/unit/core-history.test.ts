/**
 * History sized in records AND time (HISTORY_SIZE, HISTORY_SECONDS, HISTORY_MAX_RECORDS): the
 * bootstrap replay of a large table must not evict what a client that was connected a few
 * seconds before a restart needs to resume on the restarted instance.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SnapshotCache } from '../../gateway/cache/snapshot-cache.ts';
import { streamSchema } from '../../gateway/config/streams.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';
import { SseHub } from '../../gateway/sse/hub.ts';

const STREAMS = [streamSchema.parse({ name: 'totals', mode: 'table', topic: 'topic.totals' })];
const PARTITIONS = 3;
const ROWS = 25_000;

function records(partition: number, from: number, to: number, ts: number): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (let o = from; o < to; o++)
    out.push({
      topic: 'topic.totals',
      partition,
      offset: o,
      key: Buffer.from(`k${partition}-${o % 5000}`),
      value: Buffer.from(JSON.stringify({ n: o })),
      timestamp: ts,
    });
  return out;
}

/** A cache that bootstraps a 25k-record table (partition by partition, as Kafka delivers it). */
function bootstrapped(limits: { records: number; maxAgeMs: number; maxRecords: number }) {
  let clock = 1_000_000;
  const cache = new SnapshotCache({ streams: STREAMS, historySize: limits, now: () => clock });
  const per = ROWS / PARTITIONS;
  for (let p = 0; p < PARTITIONS; p++) {
    const high = Math.ceil(per);
    cache.plan({ topic: 'topic.totals', partition: p, startOffset: 0, highWatermark: high });
    // The bootstrap takes a few seconds of clock.
    for (let o = 0; o < high; o += 1000) {
      cache.apply('topic.totals', p, records(p, o, Math.min(high, o + 1000), clock));
      clock += 100;
    }
  }
  return { cache, advance: (ms: number) => (clock += ms), sel: () => cache.streams.get('totals')! };
}

/** A cursor 30 records behind the end of each partition: a client from a few seconds before a restart. */
function recentCursor(cache: SnapshotCache): number[][] {
  return [cache.streams.get('totals')!.offsets.map((o) => o - 30)];
}

describe('History: records and time', () => {
  test('count only (HISTORY_SECONDS=0): a 25k bootstrap evicts what a recent client needs (the bug)', () => {
    const { cache } = bootstrapped({ records: 10_000, maxAgeMs: 0, maxRecords: 10_000 });
    const s = cache.streams.get('totals')!;
    const cursor = recentCursor(cache)[0]!;
    assert.ok(
      s.floors.some((f, p) => cursor[p]! < f),
      'some partition floor is past the cursor: a too_old resync',
    );
  });

  test('with the time window the whole bootstrap stays, and a recent cursor can replay', () => {
    const { cache } = bootstrapped({ records: 10_000, maxAgeMs: 120_000, maxRecords: 200_000 });
    assert.equal(cache.history.size, PARTITIONS * Math.ceil(ROWS / PARTITIONS));
    const s = cache.streams.get('totals')!;
    const cursor = recentCursor(cache)[0]!;
    assert.ok(
      s.floors.every((f, p) => cursor[p]! >= f),
      'every floor at or below the cursor',
    );
  });

  test('past the window, the history shrinks back to HISTORY_SIZE on the next apply', () => {
    const { cache, advance } = bootstrapped({ records: 10_000, maxAgeMs: 120_000, maxRecords: 200_000 });
    advance(121_000);
    const s = cache.streams.get('totals')!;
    cache.apply('topic.totals', 0, records(0, s.offsets[0]!, s.offsets[0]! + 1, 0));
    assert.equal(cache.history.size, 10_000);
  });

  test('past the window, the history shrinks back with no new update: the hub heartbeat trims it', (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const { cache, advance } = bootstrapped({ records: 10_000, maxAgeMs: 120_000, maxRecords: 200_000 });
    const hub = new SseHub(cache, { heartbeatMs: 1000 });
    t.after(() => hub.close());
    const before = [...cache.streams.get('totals')!.floors];
    t.mock.timers.tick(1000);
    assert.equal(cache.history.size, 25_002, 'inside the window: all kept');
    advance(121_000);
    t.mock.timers.tick(1000);
    assert.equal(cache.history.size, 10_000);
    const s = cache.streams.get('totals')!;
    assert.ok(
      s.floors.some((f, p) => f > before[p]!),
      'the floors rose with what was dropped: an older cursor resyncs',
    );
  });

  test('HISTORY_MAX_RECORDS bounds it whatever the age', () => {
    const { cache } = bootstrapped({ records: 1000, maxAgeMs: 120_000, maxRecords: 5000 });
    assert.equal(cache.history.size, 5000);
  });
});
