/**
 * SseHub join ordering, model-based: fast-check generates interleavings of applies, flushes
 * (the hub's scheduler is a manual queue here, not setImmediate), microtask turns, readiness,
 * fresh connects, resumes and streams held until readiness; every client's transcript must
 * continue its initial write with no gap and no duplicate and end at the cache's position.
 * The regression this guards: updates applied after a snapshot but before a pending flush
 * went to earlier members only (issue 17, "updates silently lost after a snapshot").
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SelectionRegistry } from '../../gateway/cache/selection.ts';
import { SnapshotCache } from '../../gateway/cache/snapshot-cache.ts';
import type { AppliedUpdate } from '../../gateway/cache/types.ts';
import { type StreamConfig, streamSchema } from '../../gateway/config/streams.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';
import { SseHub } from '../../gateway/sse/hub.ts';
import { Subscriber, type SubscriberHooks } from '../../gateway/sse/subscriber.ts';

const STREAMS: StreamConfig[] = [
  streamSchema.parse({ name: 'orders', mode: 'feed', topic: 'topic.orders', maxItems: 1000 }),
  streamSchema.parse({ name: 'totals', mode: 'table', topic: 'topic.totals' }),
];
const PARTITIONS = 2;
/** What was produced before the sequence runs: readiness comes once this much is applied. */
const BOOTSTRAP = 3;
const SELECTIONS = ['orders', 'totals', 'orders,totals'];

type Cmd =
  | { kind: 'apply'; stream: 0 | 1; partition: number; count: number }
  /** Records that move the position with no update: a null value (refused on a feed, a tombstone of a missing key on a table). */
  | { kind: 'skip'; stream: 0 | 1; partition: number; count: number; after: number }
  | { kind: 'flush' }
  | { kind: 'turn' }
  | { kind: 'connect'; selection: number; resumeBack: number | null }
  | { kind: 'connectBeforeReady'; selection: number };

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({
    kind: fc.constant('apply' as const),
    stream: fc.constantFrom(0 as const, 1 as const),
    partition: fc.integer({ min: 0, max: PARTITIONS - 1 }),
    count: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    kind: fc.constant('skip' as const),
    stream: fc.constantFrom(0 as const, 1 as const),
    partition: fc.integer({ min: 0, max: PARTITIONS - 1 }),
    count: fc.integer({ min: 1, max: 2 }),
    /** Good records before the skipped ones, in the same apply. */
    after: fc.integer({ min: 0, max: 1 }),
  }),
  fc.constant({ kind: 'flush' as const }),
  fc.constant({ kind: 'turn' as const }),
  fc.record({
    kind: fc.constant('connect' as const),
    selection: fc.integer({ min: 0, max: SELECTIONS.length - 1 }),
    resumeBack: fc.option(fc.integer({ min: 0, max: 6 }), { nil: null }),
  }),
  fc.record({
    kind: fc.constant('connectBeforeReady' as const),
    selection: fc.integer({ min: 0, max: SELECTIONS.length - 1 }),
  }),
);

/** A response that records what is written to it (the hub writes `chunk.text` when headers are not sent). */
class RecordingResponse extends EventEmitter {
  text = '';
  headersSent = false;
  writableLength = 0;
  socket = null;
  /** The request's socket: a Subscriber lives as long as it. */
  req = { socket: new EventEmitter() };
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  end(chunk = ''): void {
    this.text += chunk;
  }
}

interface Client {
  res: RecordingResponse;
  selection: string;
}

/** The events of a transcript, in order: name, `id:` and data. */
function events(text: string): Array<{ event: string; id: string | null; data: string }> {
  const out: Array<{ event: string; id: string | null; data: string }> = [];
  for (const block of text.split('\n\n')) {
    let event = 'message';
    let id: string | null = null;
    let data: string | null = null;
    for (const line of block.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data = line.slice(6);
    }
    if (data !== null) out.push({ event, id, data });
  }
  return out;
}

const offsetsOf = (id: string): number[] =>
  id
    .split(':')[1]!
    .split('_')
    .flatMap((s) => s.split('.').map(Number));

async function run(cmds: Cmd[]): Promise<void> {
  const cache = new SnapshotCache({ streams: STREAMS, historySize: 64, now: () => 1 });
  const flushes: Array<() => void> = [];
  const hub = new SseHub(cache, { heartbeatMs: 3_600_000, schedule: (f) => flushes.push(f) });
  const registry = new SelectionRegistry(cache.streams, 8);
  const hooks: SubscriberHooks = {
    onClose: (s) => hub.leave(s),
    onConflated: () => {},
    onSlowDisconnect: () => {},
  };
  const next = new Map<string, number>();
  const record = (stream: 0 | 1, partition: number): SourceRecord => {
    const topic = STREAMS[stream]!.topic;
    const k = `${topic}/${partition}`;
    const offset = next.get(k) ?? 0;
    next.set(k, offset + 1);
    return {
      topic,
      partition,
      offset,
      key: Buffer.from(`k${offset % 3}`),
      value: Buffer.from(JSON.stringify({ offset, partition })),
      timestamp: 1,
    };
  };
  /** A record the cache skips without an update: its position still moves past it. */
  const skipped = (stream: 0 | 1, partition: number): SourceRecord => ({
    ...record(stream, partition),
    key: Buffer.from('missing'),
    value: null,
  });
  /** Every update the cache applied, in order: what each client must see after its initial write. */
  const applied: AppliedUpdate[] = [];
  cache.onUpdates((batch) => applied.push(...batch));
  // Plan with a high-water mark of BOOTSTRAP records on partition 0 of each topic: the cache
  // turns ready inside the apply() that reaches them (checkReady in apply, as with Kafka).
  for (const s of STREAMS)
    for (let p = 0; p < PARTITIONS; p++)
      cache.plan({ topic: s.topic, partition: p, startOffset: 0, highWatermark: p === 0 ? BOOTSTRAP : 0 });
  const clients: Client[] = [];
  /** Ids handed out so far per selection, for resumes. */
  const issued = new Map<string, string[]>();
  const open = (selection: string, resumeBack: number | null): void => {
    const sel = registry.resolve(selection);
    const res = new RecordingResponse();
    const sub = new Subscriber(res as unknown as ServerResponse, sel, 1 << 20, hooks, '127.0.0.1');
    const past = issued.get(selection) ?? [];
    const from = resumeBack === null ? undefined : past[past.length - 1 - resumeBack];
    let initial: string;
    // As gateway/sse/stream-route.ts open(): render and join in one synchronous step.
    const parsed = from === undefined ? null : sel.parseCursor(from);
    if (parsed?.kind === 'ok' && !sel.isAhead(parsed.cursors) && sel.canReplay(parsed.cursors)) {
      initial = `: resumed\nid: ${from}\ndata: {}\n\n`;
      for (const { update, id } of sel.replay(cache.history, parsed.cursors))
        initial += `event: update\nid: ${id}\ndata: ${update.data}\n\n`;
    } else initial = `event: snapshot\nid: ${sel.eventId()}\ndata: {}\n\n`;
    sub.writeInitial(initial);
    hub.join(sub);
    clients.push({ res, selection });
  };
  const collect = (): void => {
    for (const c of clients) {
      const ids = events(c.res.text)
        .map((e) => e.id)
        .filter((id) => id !== null);
      issued.set(c.selection, [...(issued.get(c.selection) ?? []), ...ids].slice(-20));
    }
  };

  // The bootstrap arrives in several applies; the last one (at the first `apply` command, or
  // at the end) turns the cache ready.
  for (let i = 0; i < BOOTSTRAP - 1; i++) {
    cache.apply(STREAMS[0]!.topic, 0, [record(0, 0)]);
    cache.apply(STREAMS[1]!.topic, 0, [record(1, 0)]);
  }
  let bootstrapped = false;
  const finishBootstrap = (): void => {
    if (bootstrapped) return;
    bootstrapped = true;
    cache.apply(STREAMS[0]!.topic, 0, [record(0, 0)]);
    cache.apply(STREAMS[1]!.topic, 0, [record(1, 0)]);
  };
  for (const c of cmds) {
    switch (c.kind) {
      case 'apply':
        finishBootstrap();
        cache.apply(
          STREAMS[c.stream]!.topic,
          c.partition,
          Array.from({ length: c.count }, () => record(c.stream, c.partition)),
        );
        break;
      case 'skip':
        finishBootstrap();
        cache.apply(STREAMS[c.stream]!.topic, c.partition, [
          ...Array.from({ length: c.after }, () => record(c.stream, c.partition)),
          ...Array.from({ length: c.count }, () => skipped(c.stream, c.partition)),
        ]);
        break;
      case 'flush':
        for (const f of flushes.splice(0)) f();
        collect();
        break;
      case 'turn':
        await Promise.resolve();
        break;
      case 'connect':
        if (cache.isReady()) open(SELECTIONS[c.selection]!, c.resumeBack);
        break;
      case 'connectBeforeReady': {
        // As open() does for a stream held before readiness: wait, then render and join.
        const selection = SELECTIONS[c.selection]!;
        void hub
          .waitUntil(() => cache.isReady(), 3_600_000)
          .then((ready) => {
            if (ready) open(selection, null);
          });
        break;
      }
    }
  }
  finishBootstrap();
  // Let every held stream join, then flush until quiet.
  for (let i = 0; i < 3; i++) await Promise.resolve();
  while (flushes.length > 0) for (const f of flushes.splice(0)) f();
  hub.close();

  for (const [n, c] of clients.entries()) {
    const sel = registry.resolve(c.selection);
    const evs = events(c.res.text).filter((e) => e.id !== null);
    assert.ok(evs.length > 0, `client ${n} got its initial write`);
    const initial = offsetsOf(evs[0]!.id!);
    let prev = initial;
    for (const e of evs.slice(1)) {
      const cur = offsetsOf(e.id!);
      assert.ok(
        cur.every((o, i) => o >= prev[i]!) && cur.some((o, i) => o > prev[i]!),
        `client ${n} (${c.selection}): ${e.id} after ${prev.join('.')} does not move forwards`,
      );
      // The id is the position right after this update: its own partition at offset + 1.
      const u = JSON.parse(e.data) as { stream: string; value: { offset: number; partition: number } };
      const i = sel.names.indexOf(u.stream) * PARTITIONS + u.value.partition;
      assert.equal(cur[i], u.value.offset + 1, `client ${n} (${c.selection}): ${e.id} for ${e.data}`);
      prev = cur;
    }
    // No gap, no duplicate: exactly the updates after the initial write's position, in order.
    const after = (u: AppliedUpdate): boolean => {
      const s = sel.names.indexOf(u.stream.name);
      return s >= 0 && u.offset >= initial[s * PARTITIONS + u.partition]!;
    };
    assert.deepEqual(
      evs.slice(1).map((e) => e.data),
      applied.filter(after).map((u) => u.data),
      `client ${n} (${c.selection}) got every update after its initial write, once`,
    );
  }
}

describe('SseHub: a stream joins at the position of its initial write', () => {
  test('a position moved without an update: ids sent after a later snapshot are not behind it', async () => {
    await run([
      { kind: 'apply', stream: 0, partition: 1, count: 1 },
      { kind: 'connect', selection: 2, resumeBack: null },
      { kind: 'flush' },
      { kind: 'skip', stream: 1, partition: 0, count: 1, after: 0 },
      { kind: 'flush' },
      { kind: 'connect', selection: 2, resumeBack: null },
      { kind: 'apply', stream: 0, partition: 0, count: 1 },
      { kind: 'flush' },
    ]);
  });

  test('every interleaving of applies, flushes, readiness and connects: no gap, no duplicate', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: 40, size: 'medium' }), (cmds) => run(cmds)),
      { numRuns: 200 },
    );
  });

  test('the reported interleaving: ready inside apply, snapshot in the next microtask, then another apply before the flush', async () => {
    await run([
      { kind: 'connectBeforeReady', selection: 2 },
      { kind: 'apply', stream: 0, partition: 1, count: 1 },
      { kind: 'turn' },
      { kind: 'apply', stream: 0, partition: 1, count: 2 },
      { kind: 'apply', stream: 1, partition: 0, count: 1 },
      { kind: 'flush' },
    ]);
  });
});
