/**
 * The wire protocol module (gateway/protocol) against the client kit's own parsers: every builder's
 * output, framed as the gateway frames it, is read the way the kit reads it in production (the
 * `eventsource` package's SSE parser fed one byte at a time, then compat/client/sse.ts, then the
 * reducer; poll bodies through compat/client/http.ts), and must come out as the data put in.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventSource } from 'eventsource';
import fc from 'fast-check';
import { poll } from '../../compat/client/http.ts';
import { EMPTY_STATE, reduce } from '../../compat/client/reducer.ts';
import { openStream } from '../../compat/client/sse.ts';
import type { ClientState, EventSourceConstructor, KitAction } from '../../compat/client/types.ts';
import {
  controlEvent,
  EVENT,
  gatewayErrorEvent,
  shutdownEvent,
  snapshotEvent,
  statusEvent,
  updateEvent,
} from '../../gateway/protocol/events.ts';
import {
  feedItemJson,
  feedStreamJson,
  pollBodyJson,
  streamsJson,
  tableEntryJson,
  tableStreamJson,
  updateJson,
} from '../../gateway/protocol/json.ts';
import type {
  ControlEventData,
  FeedItem,
  GatewayErrorEventData,
  ResyncReason,
  SnapshotEventData,
  StatusEventData,
  StreamData,
  UpdateEventData,
} from '../../gateway/protocol/types.ts';

/** What the kit's stream parser reported, in order. */
type Heard =
  | { kind: 'snapshot'; data: SnapshotEventData }
  | { kind: 'update'; data: UpdateEventData; id: string | null }
  | { kind: 'control'; data: ControlEventData }
  | { kind: 'shutdown' }
  | { kind: 'serverError'; code: string; message: string };

/** A Response whose body arrives one byte per chunk (the parser must not rely on whole lines). */
function byteByByte(text: string, contentType: string): Response {
  const bytes = new TextEncoder().encode(text);
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (i < bytes.length) c.enqueue(bytes.subarray(i, ++i));
      else c.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': contentType } });
}

/**
 * Feeds `frames` (one response) to the kit's openStream and returns what it heard, once the
 * response has ended (the EventSource reports the end as a connection error).
 */
async function hearStream(frames: string): Promise<Heard[]> {
  const heard: Heard[] = [];
  let served = false;
  const fetchOnce = (async () => {
    if (served) return new Promise<Response>(() => {}); // the reconnect: never answered
    served = true;
    return byteByByte(frames, 'text/event-stream; charset=utf-8');
  }) as typeof fetch;
  await new Promise<void>((resolve) => {
    const stream = openStream(
      {
        EventSource: EventSource as unknown as EventSourceConstructor,
        url: 'http://gateway.test/v1/stream',
        withCredentials: false,
        fetch: fetchOnce,
        now: () => 0,
      },
      {
        opened() {},
        snapshot: (data) => heard.push({ kind: 'snapshot', data }),
        update: (data, id) => heard.push({ kind: 'update', data, id }),
        control: (data) => heard.push({ kind: 'control', data }),
        shutdown: () => heard.push({ kind: 'shutdown' }),
        serverError: (code, message) => heard.push({ kind: 'serverError', code, message }),
        failed: () => {
          stream.close();
          resolve();
        },
      },
    );
  });
  return heard;
}

/** The raw `data` of every event named `name` (for events the kit does not listen to). */
async function hearRaw(frames: string, name: string): Promise<string[]> {
  const out: string[] = [];
  let served = false;
  const es = new EventSource('http://gateway.test/v1/stream', {
    fetch: (async () => {
      if (served) return new Promise<Response>(() => {});
      served = true;
      return byteByByte(frames, 'text/event-stream');
    }) as typeof fetch,
  });
  es.addEventListener(name, (ev) => out.push(ev.data));
  await new Promise<void>((resolve) => es.addEventListener('error', () => resolve()));
  es.close();
  return out;
}

// ---- generated stream contents -------------------------------------------------------------

/** Keys and values that trip hand-written JSON: prototype names, quotes, line breaks, non-ASCII. */
const keyArb = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'a"b', 'line\nbreak', 'cr\rlf', 'ü', '', 'k'),
  fc.string({ maxLength: 6 }),
);
const valueArb = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const timeArb = fc.integer({ min: 0, max: 2 ** 42 });

interface Row {
  key: string;
  value: unknown;
  createdAt: number;
}

const rowsArb = fc.uniqueArray(fc.record({ key: keyArb, value: valueArb, createdAt: timeArb }), {
  selector: (r) => r.key,
  maxLength: 5,
});
const itemsArb = fc.array(
  fc.record({ key: fc.option(keyArb, { nil: null }), value: valueArb, createdAt: timeArb }),
  { maxLength: 5 },
);

/** The `streams` JSON as the cache renders it, and the object it must parse to. */
function renderStreams(
  rows: Row[],
  items: FeedItem[],
  maxItems: number,
): { json: string; expected: Record<string, StreamData> } {
  const tableRows = rows.map((r) => ({
    key: r.key,
    json: tableEntryJson(JSON.stringify(r.value), r.createdAt),
  }));
  const feedItems = items.map((i) => ({ json: feedItemJson(i.key, JSON.stringify(i.value), i.createdAt) }));
  const json = streamsJson([
    { name: 'orders', json: feedStreamJson(maxItems, feedItems) },
    { name: 'totals', json: tableStreamJson(tableRows) },
  ]);
  const entries = Object.create(null) as Record<string, { value: unknown; createdAt: number }>;
  for (const r of rows) entries[r.key] = { value: r.value, createdAt: r.createdAt };
  return {
    json,
    expected: {
      orders: { mode: 'feed', maxItems, items },
      totals: { mode: 'table', entries },
    },
  };
}

/** Deep equality that sees null-prototype records and plain objects alike. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

const POSITION = '6d9b3c-4964a4:0.1_1.0';

/** The one `data:` line of a framed JSON event (JSON never holds a raw line break). */
function dataLine(frame: string): string {
  return frame
    .split('\n')
    .find((l) => l.startsWith('data: '))!
    .slice('data: '.length);
}

describe('protocol builders, read by the client kit', () => {
  test('snapshot: every generated state arrives as built, fresh and as a resync', async () => {
    await fc.assert(
      fc.asyncProperty(
        rowsArb,
        itemsArb,
        fc.integer({ min: 1, max: 500 }),
        fc.constantFrom<ResyncReason | null>(null, 'too_old', 'other_streams', 'ahead', 'bad_id', 'lineage'),
        timeArb,
        async (rows, items, maxItems, reason, serverTime) => {
          const { json, expected } = renderStreams(rows, items, maxItems);
          const heard = await hearStream(snapshotEvent(serverTime, reason, POSITION, json));
          assert.equal(heard.length, 1);
          const h = heard[0]!;
          if (h.kind !== 'snapshot') assert.fail(`expected a snapshot, heard ${h.kind}`);
          const want = {
            serverTime,
            resync: reason !== null,
            ...(reason === null ? {} : { reason }),
            position: POSITION,
            streams: expected,
          };
          assert.deepEqual(plain(h.data), plain(want));
          // Keys such as `__proto__` stay data through the reducer.
          const state = reduce(EMPTY_STATE, [{ type: 'snapshot', data: h.data }]);
          assert.equal(state.position, POSITION);
          const table = state.streams.totals;
          assert.equal(table?.mode, 'table');
          for (const r of rows)
            assert.ok(Object.hasOwn((table as { entries: object }).entries, r.key), r.key);
        },
      ),
      { numRuns: 40 },
    );
  });

  test('update: upsert, delete and append patch a snapshot as the data says, with their ids', async () => {
    const base = renderStreams([{ key: '__proto__', value: { a: 1 }, createdAt: 1 }], [], 3);
    const updates: Array<{ id: string; data: UpdateEventData; valueJson: string | null }> = [
      {
        id: 'x:1',
        data: { stream: 'totals', op: 'upsert', key: 'a"b', value: [1, 'two'], createdAt: 5, appliedAt: 6 },
        valueJson: '[1,"two"]',
      },
      {
        id: 'x:2',
        data: { stream: 'totals', op: 'delete', key: '__proto__', createdAt: 7, appliedAt: 8 },
        valueJson: null,
      },
      {
        id: 'x:3',
        data: { stream: 'orders', op: 'append', key: null, value: 'ü\n', createdAt: 9, appliedAt: 10 },
        valueJson: '"ü\\n"',
      },
      {
        id: 'x:4',
        data: {
          stream: 'orders',
          op: 'append',
          key: 'line\nbreak',
          value: null,
          createdAt: 8,
          appliedAt: 11,
        },
        valueJson: 'null',
      },
    ];
    let frames = snapshotEvent(0, null, POSITION, base.json);
    for (const u of updates) {
      const d = u.data;
      frames += updateEvent(u.id, updateJson(d.stream, d.op, d.key, u.valueJson, d.createdAt, d.appliedAt));
    }
    const heard = await hearStream(frames);
    assert.deepEqual(
      heard.slice(1).map((h) => (h.kind === 'update' ? { id: h.id, data: h.data } : h)),
      updates.map((u) => ({ id: u.id, data: u.data })),
    );
    const actions = heard.map((h): KitAction => {
      if (h.kind === 'snapshot') return { type: 'snapshot', data: h.data };
      if (h.kind === 'update') return { type: 'update', data: h.data, id: h.id };
      return assert.fail(`unexpected ${h.kind}`);
    });
    const state: ClientState = reduce(EMPTY_STATE, actions);
    assert.equal(state.position, 'x:4');
    assert.deepEqual(plain(state.streams), {
      totals: { mode: 'table', entries: { 'a"b': { value: [1, 'two'], createdAt: 5 } } },
      // Feeds are kept in creation-time order.
      orders: {
        mode: 'feed',
        maxItems: 3,
        items: [
          { key: 'line\nbreak', value: null, createdAt: 8 },
          { key: null, value: 'ü\n', createdAt: 9 },
        ],
      },
    });
  });

  test('control, shutdown and gateway-error reach the kit as sent', async () => {
    const control: ControlEventData = {
      transport: 'poll',
      reason: 'kill_switch',
      pollIntervalMs: 2000,
      recheckAfterMs: 30_000,
      rulesVersion: 7,
    };
    const refused: GatewayErrorEventData = {
      code: 'OVERLOADED',
      message: 'at "capacity"\nretry',
      reconnect: true,
      retryMs: 2731,
    };
    const heard = await hearStream(
      controlEvent(control) +
        controlEvent({ transport: 'poll', reason: 'rollout' }) +
        shutdownEvent(3412) +
        gatewayErrorEvent(refused, 2731) +
        gatewayErrorEvent({ code: 'SLOW_CONSUMER', message: 'more than 1048576 bytes waited' }),
    );
    assert.deepEqual(heard, [
      { kind: 'control', data: control },
      { kind: 'control', data: { transport: 'poll', reason: 'rollout' } },
      { kind: 'shutdown' },
      { kind: 'serverError', code: 'OVERLOADED', message: 'at "capacity"\nretry' },
      { kind: 'serverError', code: 'SLOW_CONSUMER', message: 'more than 1048576 bytes waited' },
    ]);
  });

  test('status: the kit ignores it (no listener); its data parses to what was built', async () => {
    const stale: StatusEventData = {
      stale: true,
      staleMs: null,
      serverTime: 1732872000412,
      streams: { orders: { reason: 'codec_refused', detail: 'bad "magic" byte', staleMs: 1500 } },
    };
    const fresh: StatusEventData = { stale: false, staleMs: 0, serverTime: 1, streams: {} };
    const frames = statusEvent(stale) + statusEvent(fresh);
    assert.deepEqual(await hearStream(frames), []);
    assert.deepEqual(
      (await hearRaw(frames, EVENT.status)).map((d) => JSON.parse(d)),
      [stale, fresh],
    );
  });

  test('poll body: http.ts reads it, and it reduces to the state of the same snapshot', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, itemsArb, fc.integer({ min: 1, max: 50 }), async (rows, items, maxItems) => {
        const { json, expected } = renderStreams(rows, items, maxItems);
        const body = pollBodyJson(POSITION, json);
        const res = await poll(
          {
            fetch: (async () => byteByByte(body, 'application/json; charset=utf-8')) as typeof fetch,
            now: () => 0,
            withCredentials: false,
          },
          'http://gateway.test/v1/snapshot',
          null,
          new AbortController().signal,
        );
        assert.equal(res.kind, 'body');
        if (res.kind !== 'body') return;
        assert.deepEqual(plain(res.body), plain({ position: POSITION, streams: expected }));
        const fromPoll = reduce(EMPTY_STATE, [{ type: 'poll', body: res.body }]);
        const fromSnapshot = reduce(EMPTY_STATE, [
          { type: 'snapshot', data: JSON.parse(dataLine(snapshotEvent(0, null, POSITION, json))) },
        ]);
        assert.deepEqual(plain(fromPoll), plain(fromSnapshot));
      }),
      { numRuns: 40 },
    );
  });
});
