/** Selections: resume (replay / canReplay / isAhead) and ids that mean the same on every instance. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ParsedEventId } from '../../gateway/cache/event-id.ts';
import { type Selection, SelectionError, SelectionRegistry } from '../../gateway/cache/selection.ts';
import { SnapshotCache } from '../../gateway/cache/snapshot-cache.ts';
import { type StreamConfig, streamSchema } from '../../gateway/config/streams.ts';
import { domainError } from '../../gateway/http/send-error.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';

const STREAMS: StreamConfig[] = [
  streamSchema.parse({ name: 'orders', topic: 'topic.orders', mode: 'feed', maxItems: 4 }),
  streamSchema.parse({ name: 'totals', topic: 'topic.totals', mode: 'table' }),
];

function makeCache(historySize = 1000, now = () => 1_000) {
  const cache = new SnapshotCache({ streams: STREAMS, historySize, now });
  for (const p of [0, 1])
    cache.plan({ topic: 'topic.orders', partition: p, startOffset: 0, highWatermark: 0 });
  cache.plan({ topic: 'topic.totals', partition: 0, startOffset: 0, highWatermark: 0 });
  return cache;
}

/** Deterministic records: per topic/partition, a list of (key, value, timestamp). */
function records(topic: string, partition: number, from: number, count: number): SourceRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const offset = from + i;
    const key = topic === 'topic.totals' ? `k${offset % 3}` : `o${partition}-${offset}`;
    return {
      topic,
      partition,
      offset,
      key: Buffer.from(key),
      value: Buffer.from(JSON.stringify({ p: partition, o: offset })),
      timestamp: 10_000 + offset * 10 + partition,
    };
  });
}

function cursorsOf(sel: Selection, id: string): number[][] {
  const parsed: ParsedEventId = sel.parseCursor(id);
  assert.equal(parsed.kind, 'ok', `${id} should parse`);
  return (parsed as { cursors: number[][] }).cursors;
}

/** Every component of b >= a's. */
function notBefore(a: number[][], b: number[][]): boolean {
  return a.every((c, i) => c.every((o, p) => (b[i]![p] ?? 0) >= o));
}

describe('Selection', () => {
  test('replay returns exactly the missed updates, with monotone ids ending at the position', () => {
    const cache = makeCache();
    const sel = new SelectionRegistry(cache.streams, 16).resolve('orders,totals');
    cache.apply('topic.orders', 0, records('topic.orders', 0, 0, 3));
    cache.apply('topic.totals', 0, records('topic.totals', 0, 0, 2));
    const cursorId = sel.eventId();
    const cursors = cursorsOf(sel, cursorId);
    const seqBefore = cache.sequence;
    cache.apply('topic.orders', 1, records('topic.orders', 1, 0, 2));
    cache.apply('topic.totals', 0, records('topic.totals', 0, 2, 3));
    cache.apply('topic.orders', 0, records('topic.orders', 0, 3, 1));

    const replay = sel.replay(cache.history, cursors);
    assert.deepEqual(
      replay.map((r) => r.update.seq),
      Array.from({ length: cache.sequence - seqBefore }, (_, i) => seqBefore + 1 + i),
      'exactly the updates applied after the cursor, in order',
    );
    let prev = cursors;
    for (const { id } of replay) {
      const c = cursorsOf(sel, id);
      assert.ok(notBefore(prev, c), `ids are monotone: ${id}`);
      prev = c;
    }
    assert.equal(replay.at(-1)!.id, sel.eventId());

    // Resuming from any id handed out during the replay gives exactly the rest.
    for (let k = 0; k < replay.length; k++) {
      const rest = sel.replay(cache.history, cursorsOf(sel, replay[k]!.id));
      assert.deepEqual(
        rest.map((r) => r.update.seq),
        replay.slice(k + 1).map((r) => r.update.seq),
      );
    }
    assert.deepEqual(sel.replay(cache.history, cursorsOf(sel, sel.eventId())), []);
  });

  test('replay only carries updates of the selected streams', () => {
    const cache = makeCache();
    const sel = new SelectionRegistry(cache.streams, 16).resolve('totals');
    const start = cursorsOf(sel, sel.eventId());
    cache.apply('topic.orders', 0, records('topic.orders', 0, 0, 3));
    cache.apply('topic.totals', 0, records('topic.totals', 0, 0, 2));
    assert.deepEqual(
      sel.replay(cache.history, start).map((r) => r.update.stream.name),
      ['totals', 'totals'],
    );
  });

  test('canReplay is false below the history floor, true at it', () => {
    const cache = makeCache(3);
    const sel = new SelectionRegistry(cache.streams, 16).resolve('totals');
    const zero = cursorsOf(sel, sel.eventId());
    cache.apply('topic.totals', 0, records('topic.totals', 0, 0, 3));
    assert.equal(sel.canReplay(zero), true, 'history still holds offsets 0..2');
    cache.apply('topic.totals', 0, records('topic.totals', 0, 3, 1));
    assert.equal(sel.canReplay(zero), false, 'offset 0 fell out of the history');
    assert.equal(sel.canReplay([[1]]), true);
    assert.deepEqual(
      sel.replay(cache.history, [[1]]).map((r) => r.update.offset),
      [1, 2, 3],
    );
  });

  test('with HISTORY_SIZE 0 only the current position can resume', () => {
    const cache = makeCache(0);
    const sel = new SelectionRegistry(cache.streams, 16).resolve('totals');
    cache.apply('topic.totals', 0, records('topic.totals', 0, 0, 2));
    assert.equal(sel.canReplay([[1]]), false);
    assert.equal(sel.canReplay([[2]]), true);
    assert.deepEqual(sel.replay(cache.history, [[2]]), []);
  });

  test('a feed that bootstrapped from a later offset cannot replay from before it', () => {
    const cache = new SnapshotCache({ streams: STREAMS, historySize: 100 });
    cache.plan({ topic: 'topic.orders', partition: 0, startOffset: 5, highWatermark: 9 });
    const sel = new SelectionRegistry(cache.streams, 16).resolve('orders');
    assert.equal(sel.canReplay([[4]]), false);
    assert.equal(sel.canReplay([[5]]), true);
  });

  test('isAhead: a cursor beyond this instance (another, faster instance handed it out)', () => {
    const cache = makeCache();
    const sel = new SelectionRegistry(cache.streams, 16).resolve('orders,totals');
    cache.apply('topic.orders', 0, records('topic.orders', 0, 0, 2));
    assert.equal(sel.isAhead([[2, 0], [0]]), false);
    assert.equal(sel.isAhead([[1, 0], [0]]), false);
    assert.equal(sel.isAhead([[3, 0], [0]]), true);
    assert.equal(sel.isAhead([[2, 1], [0]]), true);
    assert.equal(sel.isAhead([[2, 0], [1]]), true);
    assert.equal(sel.isAhead([[2, 0, 1], [0]]), true, 'a partition this instance has not seen');
  });

  test('a TTL expiry makes earlier ids resync instead of silently missing the delete', () => {
    let clock = 1_000;
    const streams = [streamSchema.parse({ name: 't', topic: 'topic.t', mode: 'table', ttlMs: 100 })];
    const cache = new SnapshotCache({ streams, historySize: 100, now: () => clock });
    cache.plan({ topic: 'topic.t', partition: 0, startOffset: 0, highWatermark: 0 });
    const sel = new SelectionRegistry(cache.streams, 16).resolve('t');
    cache.apply('topic.t', 0, records('topic.t', 0, 0, 1));
    const upToDate = cursorsOf(sel, sel.eventId());
    clock += 200;
    cache.sweepExpired();
    assert.equal(cache.streams.get('t')!.size, 0);
    assert.equal(sel.canReplay(upToDate), false, 'the client at the old position never saw the delete');
    cache.apply('topic.t', 0, records('topic.t', 0, 1, 1));
    assert.equal(sel.canReplay(cursorsOf(sel, sel.eventId())), true);
  });

  test('the same records in another partition interleaving give the same id and the same data', () => {
    const a = makeCache();
    const b = makeCache();
    const batches = [
      records('topic.orders', 0, 0, 5),
      records('topic.orders', 1, 0, 4),
      records('topic.totals', 0, 0, 6),
      records('topic.orders', 0, 5, 2),
      records('topic.orders', 1, 4, 3),
    ];
    for (const batch of batches) a.apply(batch[0]!.topic, batch[0]!.partition, batch);
    // b: other order across partitions (order within a partition is Kafka's, always the same).
    for (const i of [1, 4, 2, 0, 3]) b.apply(batches[i]![0]!.topic, batches[i]![0]!.partition, batches[i]!);
    const sa = new SelectionRegistry(a.streams, 16).resolve('orders,totals');
    const sb = new SelectionRegistry(b.streams, 16).resolve('totals,orders');
    assert.equal(sa.eventId(), sb.eventId());
    assert.deepEqual(JSON.parse(sa.streamsJson()), JSON.parse(sb.streamsJson()));
    // maxItems 4 across two partitions: the newest 4 by record time, whatever the interleaving.
    const items = JSON.parse(sa.streamsJson()).orders.items as Array<{ value: { p: number; o: number } }>;
    assert.deepEqual(
      items.map((i) => [i.value.p, i.value.o]),
      [
        [0, 5],
        [1, 5],
        [0, 6],
        [1, 6],
      ],
    );
  });
});

describe('SelectionRegistry', () => {
  const cache = makeCache();
  const reg = new SelectionRegistry(cache.streams, 1);
  const reg2 = new SelectionRegistry(cache.streams, 16);

  test('canonical: order and duplicates do not matter; one shared Selection per set', () => {
    const a = reg2.resolve('totals,orders');
    assert.equal(reg2.resolve('orders,totals,orders'), a);
    assert.equal(reg2.resolve(' orders , totals'), a);
    assert.equal(reg2.resolve(undefined), a, 'no streams parameter means every stream');
    assert.equal(reg2.resolve(''), a);
    assert.deepEqual(a.names, ['orders', 'totals']);
  });

  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (err) {
      // The cache throws its own SelectionError; the transport's one error path maps it to the code.
      assert.ok(err instanceof SelectionError);
      return domainError(err)?.code ?? 'unmapped';
    }
    return 'no error';
  };

  test('unknown names, repeated parameters, empty names and oversize lists are 400 codes', () => {
    assert.equal(
      code(() => reg2.resolve('orders,nope')),
      'UNKNOWN_STREAM',
    );
    assert.equal(
      code(() => reg2.resolve('orders,')),
      'UNKNOWN_STREAM',
    );
    assert.equal(
      code(() => reg2.resolve(['orders', 'totals'])),
      'BAD_QUERY',
    );
    assert.equal(
      code(() => reg2.resolve({ a: 1 })),
      'BAD_QUERY',
    );
    assert.equal(
      code(() => reg2.resolve('x'.repeat(5000))),
      'BAD_QUERY',
    );
    assert.equal(
      code(() => reg.resolve('orders,totals')),
      'TOO_MANY_STREAMS',
    );
  });
});
