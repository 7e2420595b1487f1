/**
 * The kit's one reducer: a client fed a snapshot and then update events ends with exactly the
 * state of a client that polled once at the end. Checked against the gateway's real cache
 * (the same code that renders snapshots and update events) over random record sequences.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { adoptState, arrivals, EMPTY_STATE, reduce } from '../../compat/client/reducer.ts';
import type { ClientState, KitAction } from '../../compat/client/types.ts';
import { SelectionRegistry } from '../../gateway/cache/selection.ts';
import { SnapshotCache } from '../../gateway/cache/snapshot-cache.ts';
import type { AppliedUpdate } from '../../gateway/cache/types.ts';
import { streamSchema } from '../../gateway/config/streams.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';

const STREAMS = [
  streamSchema.parse({ name: 'orders', topic: 't.orders', mode: 'feed', maxItems: 4 }),
  streamSchema.parse({ name: 'totals', topic: 't.totals', mode: 'table', maxKeys: 5 }),
];
const KEYS = ['a', 'b', 'c', 'd', 'e', 'f', 'g', '__proto__', 'constructor', 'ü'];

/** A record: orders go to one of two partitions whose clocks differ (partition 1 lags 5 ms). */
type Op = {
  topic: 't.orders' | 't.totals';
  partition: 0 | 1;
  key: string;
  value: number | null;
  step: number;
};

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    topic: fc.constant('t.orders' as const),
    partition: fc.constantFrom(0 as const, 1 as const),
    key: fc.constantFrom(...KEYS),
    value: fc.integer(),
    step: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    topic: fc.constant('t.totals' as const),
    partition: fc.constant(0 as const),
    key: fc.constantFrom(...KEYS),
    value: fc.option(fc.integer(), { nil: null, freq: 4 }),
    step: fc.integer({ min: 1, max: 3 }),
  }),
);

/** A cache with its selection, and a log of every update event it emitted. */
function gateway() {
  let t = 1_700_000_000_000;
  const cache = new SnapshotCache({ streams: STREAMS, historySize: 1000, now: () => t });
  for (const s of STREAMS)
    for (const partition of s.mode === 'feed' ? [0, 1] : [0])
      cache.plan({ topic: s.topic, partition, startOffset: 0, highWatermark: 0 });
  const selection = new SelectionRegistry(cache.streams, 16).resolve(undefined);
  const events: AppliedUpdate[] = [];
  cache.onUpdates((u) => events.push(...u));
  const offsets = new Map<string, number>();
  // Per partition a clock moving forward; createdAt are unique (2 x ms + partition).
  const clocks = [t, t - 5];
  return {
    events,
    produce(batch: Op[]) {
      for (const op of batch) {
        const tp = `${op.topic}/${op.partition}`;
        const offset = offsets.get(tp) ?? 0;
        offsets.set(tp, offset + 1);
        clocks[op.partition]! += op.step;
        t = Math.max(t, clocks[op.partition]!);
        const rec: SourceRecord = {
          topic: op.topic,
          partition: op.partition,
          offset,
          key: Buffer.from(op.key),
          value: op.value === null ? null : Buffer.from(JSON.stringify({ n: op.value })),
          timestamp: clocks[op.partition]! * 2 + op.partition,
        };
        cache.apply(op.topic, op.partition, [rec]);
      }
    },
    /** What `GET /v1/snapshot` would answer now. */
    pollBody() {
      return JSON.parse(`{"position":"${selection.eventId()}","streams":${selection.streamsJson()}}`);
    },
    /** What the `snapshot` event would carry now. */
    snapshotData() {
      return JSON.parse(
        `{"serverTime":${t},"resync":false,"position":"${selection.eventId()}","streams":${selection.streamsJson()}}`,
      );
    },
    /** Event ids as the hub frames them: per stream, the position after its last update. */
    ids(updates: readonly AppliedUpdate[], from: string): string[] {
      const pos = from.split(':')[1]!.split('_');
      return updates.map((u) => {
        pos[STREAMS.findIndex((c) => c.name === u.stream.name)] = u.streamPos;
        return `${selection.idPrefix}:${pos.join('_')}`;
      });
    },
    records: () => [...offsets.values()].reduce((a, b) => a + b, 0),
  };
}

const op = (topic: Op['topic'], key: string, value: number | null): Op => ({
  topic,
  partition: 0,
  key,
  value,
  step: 1,
});

/** Plain objects (no null prototypes), for deepStrictEqual across the two paths. */
const plain = (s: ClientState) => JSON.parse(JSON.stringify(s));

describe('client reducer', () => {
  test('snapshot + updates (in any batching) equals a poll at the end', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { maxLength: 15 }),
        fc.array(fc.array(opArb, { maxLength: 8 }), { maxLength: 6 }),
        fc.integer({ min: 1, max: 5 }),
        (before, batches, chunk) => {
          const gw = gateway();
          gw.produce(before);
          let sse = reduce(EMPTY_STATE, [{ type: 'snapshot', data: gw.snapshotData() }]);
          const seen = gw.events.length;
          const recordsBefore = gw.records();
          for (const b of batches) gw.produce(b);
          const updates = gw.events.slice(seen);
          const ids = gw.ids(updates, sse.position!);
          const actions: KitAction[] = updates.map((u, i) => ({
            type: 'update',
            data: JSON.parse(u.data),
            id: ids[i]!,
          }));
          for (let i = 0; i < actions.length; i += chunk) sse = reduce(sse, actions.slice(i, i + chunk));
          const polled = reduce(EMPTY_STATE, [{ type: 'poll', body: gw.pollBody() }]);
          assert.deepStrictEqual(plain(sse).streams, plain(polled).streams);
          // The position is a cursor: it moves with update events, so it matches the poll's when
          // every record made one (a delete of a missing key changes nothing and sends nothing).
          const oneEach = updates.length === gw.records() - recordsBefore;
          if (oneEach && updates.length > 0 && updates.every((u) => u.op !== 'delete'))
            assert.equal(sse.position, polled.position);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('never modifies its input and shares untouched streams', () => {
    const gw = gateway();
    gw.produce([op('t.totals', 'a', 1), op('t.orders', 'o', 1)]);
    const s0 = reduce(EMPTY_STATE, [{ type: 'poll', body: gw.pollBody() }]);
    const frozen = JSON.stringify(s0);
    const s1 = reduce(s0, [
      {
        type: 'update',
        data: {
          stream: 'totals',
          op: 'upsert',
          key: '__proto__',
          value: { x: 1 },
          createdAt: 5,
          appliedAt: 6,
        },
        id: 'x:1_1',
      },
    ]);
    assert.equal(JSON.stringify(s0), frozen, 'old state untouched');
    assert.equal(s1.streams.orders, s0.streams.orders, 'untouched stream shared');
    const entries = (s1.streams.totals as { entries: Record<string, unknown> }).entries;
    assert.deepEqual(Object.keys(entries).sort(), ['__proto__', 'a'], '__proto__ is a plain key');
    assert.equal(Object.getPrototypeOf(entries), null);
    assert.equal(reduce(s1, []), s1, 'no action, same state');
    assert.equal(
      reduce(s1, [
        {
          type: 'update',
          data: { stream: 'nope', op: 'upsert', key: 'k', createdAt: 1, appliedAt: 1 },
          id: null,
        },
      ]),
      s1,
    );
  });

  test('adoptState restores null prototypes after a structured clone', () => {
    const cloned = structuredClone({
      position: 'p',
      streams: { totals: { mode: 'table', entries: { a: { value: 1, createdAt: 1 } } } },
    }) as ClientState;
    const s = adoptState(cloned);
    assert.equal(Object.getPrototypeOf((s.streams.totals as { entries: object }).entries), null);
    assert.equal(adoptState({} as ClientState).position, null);
  });

  test('arrivals: what a poll brought that the client did not have', () => {
    const gw = gateway();
    gw.produce([op('t.totals', 'a', 1), op('t.totals', 'b', 1)]);
    const first = reduce(EMPTY_STATE, [{ type: 'poll', body: gw.pollBody() }]);
    assert.deepEqual(arrivals(EMPTY_STATE, first), [], 'the first poll is a baseline');
    gw.produce([op('t.totals', 'b', 2), op('t.totals', 'c', 1), op('t.orders', 'o1', 1)]);
    const second = reduce(first, [{ type: 'poll', body: gw.pollBody() }]);
    const created = gw.events.slice(-3).map((u) => u.createdAt);
    assert.deepEqual(arrivals(first, second).sort(), created.sort());
    assert.deepEqual(arrivals(second, second), []);
  });
});
