/**
 * `GET /v1/stream` end to end over real sockets: a whole gateway (createGateway + createApp) on a
 * MemorySource, clients parsing the stream with eventsource-parser.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import { startGateway } from '../../gateway/switchyard.ts';
import { httpGet, openSse, type SseConnection, type SseEventItem } from '../helpers/sse-client.ts';
import { startFixture, total, until } from './core-fixture.ts';

const SEL = 'orders,totals';

/** Event payloads are checked field by field; a loose type keeps those checks readable. */
// biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON read back from the wire
type Json = Record<string, any>;

function json(e: SseEventItem): Json {
  return JSON.parse(e.data);
}

async function expectSnapshot(conn: SseConnection): Promise<{ ev: SseEventItem; body: Json }> {
  const ev = await conn.nextEvent();
  assert.equal(ev.event, 'snapshot', `first event should be the snapshot, got ${ev.event}`);
  return { ev, body: json(ev) };
}

describe('GET /v1/stream', () => {
  test('a snapshot event first, then update events, with headers that defeat proxy buffering', async (t) => {
    const now = () => 1_700_000_000_000;
    const f = await startFixture(t, {
      now,
      seed: (s) => s.produce('topic.totals', [{ key: 'fr', value: total(1), timestamp: 1000 }]),
    });
    const conn = await openSse(`${f.url}/v1/stream?streams=${SEL}`, { t });
    assert.equal(conn.status, 200);
    assert.equal(conn.headers['content-type'], 'text/event-stream; charset=utf-8');
    assert.equal(conn.headers['cache-control'], 'no-cache, no-transform');
    assert.equal(conn.headers['x-accel-buffering'], 'no');
    assert.equal(conn.headers['content-encoding'], undefined);
    assert.equal(conn.headers['x-server-time'], String(now()));

    const first = await conn.next();
    assert.equal(first.kind, 'retry', 'a retry hint comes before the snapshot');
    const retry = (first as { ms: number }).ms;
    assert.ok(retry >= f.config.retryMs * 0.5 && retry < f.config.retryMs * 1.5);

    const { ev, body } = await expectSnapshot(conn);
    const sel = f.ctx.selections.resolve(SEL);
    assert.equal(ev.id, sel.eventId());
    assert.deepEqual(body, {
      serverTime: now(),
      resync: false,
      position: sel.eventId(),
      streams: {
        orders: { mode: 'feed', maxItems: 500, items: [] },
        totals: { mode: 'table', entries: { fr: { value: { n: 1 }, createdAt: 1000 } } },
      },
    });

    f.source.produce('topic.totals', [{ key: 'de', value: total(2), timestamp: 2000 }]);
    f.source.produce('topic.orders', [{ key: 'o1', value: '{"amount":5}', timestamp: 3000 }]);
    const [u1, u2] = await conn.takeEvents(2);
    assert.equal(u1!.event, 'update');
    assert.deepEqual(json(u1!), {
      stream: 'totals',
      op: 'upsert',
      key: 'de',
      value: { n: 2 },
      createdAt: 2000,
      appliedAt: now(),
    });
    assert.deepEqual(json(u2!), {
      stream: 'orders',
      op: 'append',
      key: 'o1',
      value: { amount: 5 },
      createdAt: 3000,
      appliedAt: now(),
    });
    assert.equal(u2!.id, sel.eventId(), 'the last id is the current position');

    f.source.produce('topic.totals', [{ key: 'de', value: null }]);
    const del = await conn.nextEvent();
    assert.deepEqual([json(del).op, json(del).key, 'value' in json(del)], ['delete', 'de', false]);
  });

  test('no gap and no duplicate between the snapshot and live updates around connect', async (t) => {
    const f = await startFixture(t, {
      env: {
        STREAMS: JSON.stringify([
          { name: 'orders', topic: 'topic.orders', mode: 'feed', maxItems: 100_000 },
          { name: 'totals', topic: 'topic.totals', mode: 'table' },
        ]),
      },
      partitions: 2,
    });
    const keys = ['a', 'b', 'c'];
    const counter = new Map(keys.map((k) => [k, 0]));
    let produced = 0;
    let running = true;
    // A producer that writes on every event-loop turn, so records land before, during and after
    // each client's connect.
    const producer = (async () => {
      while (running) {
        const k = keys[produced % keys.length]!;
        counter.set(k, counter.get(k)! + 1);
        f.source.produce('topic.totals', [
          { key: k, value: total(counter.get(k)!), partition: produced % 2 },
        ]);
        f.source.produce('topic.orders', [
          { key: `o${produced}`, value: '{}', partition: (produced + 1) % 2 },
        ]);
        produced++;
        await turn();
      }
    })();
    const clients: SseConnection[] = [];
    for (let i = 0; i < 8; i++) {
      clients.push(await openSse(`${f.url}/v1/stream?streams=${SEL}`, { t }));
      for (let j = 0; j < i * 3; j++) await turn();
    }
    await until(() => produced > 300, 'more records');
    running = false;
    await producer;
    const sel = f.ctx.selections.resolve(SEL);
    await until(() => f.ctx.cache.streams.get('orders')!.size === produced, 'the cache to apply everything');
    const finalId = sel.eventId();

    for (const [i, conn] of clients.entries()) {
      const { body } = await expectSnapshot(conn);
      const table = new Map<string, number>(
        Object.entries(body.streams.totals.entries as Record<string, { value: { n: number } }>).map(
          ([k, v]) => [k, v.value.n],
        ),
      );
      const orders = new Set<string>((body.streams.orders.items as Array<{ key: string }>).map((o) => o.key));
      let lastId = '';
      while (lastId !== finalId) {
        const ev = await conn.nextEvent();
        assert.equal(ev.event, 'update', `client ${i}`);
        lastId = ev.id!;
        const u = json(ev);
        if (u.stream === 'totals') {
          const prev = table.get(u.key) ?? 0;
          assert.equal(u.value.n, prev + 1, `client ${i}: key ${u.key} went ${prev} -> ${u.value.n}`);
          table.set(u.key, u.value.n);
        } else {
          assert.ok(!orders.has(u.key), `client ${i}: duplicate order ${u.key}`);
          orders.add(u.key);
        }
      }
      assert.deepEqual(Object.fromEntries(table), Object.fromEntries(counter), `client ${i} table`);
      assert.equal(orders.size, produced, `client ${i} saw every order exactly once`);
    }
  });

  async function resumeSetup(t: Parameters<typeof startFixture>[0], env: Record<string, string> = {}) {
    const f = await startFixture(t, {
      env,
      seed: (s) => s.produce('topic.totals', [{ key: 'a', value: total(1) }]),
    });
    const first = await openSse(`${f.url}/v1/stream?streams=${SEL}`);
    const { ev } = await expectSnapshot(first);
    first.close();
    await until(() => f.ctx.hub.size === 0, 'the first client to leave');
    return { f, lastId: ev.id! };
  }

  async function expectExactlyMissed(conn: SseConnection, f: Awaited<ReturnType<typeof resumeSetup>>['f']) {
    const events = await conn.takeEvents(3);
    assert.deepEqual(
      events.map((e) => [e.event, json(e).key, json(e).value?.n]),
      [
        ['update', 'a', 2],
        ['update', 'b', 1],
        ['update', 'a', 3],
      ],
    );
    assert.equal(events.at(-1)!.id, f.ctx.selections.resolve(SEL).eventId());
    // Nothing else was replayed: the next event is the next live update.
    f.source.produce('topic.totals', [{ key: 'z', value: total(9) }]);
    const next = await conn.nextEvent();
    assert.equal(json(next).key, 'z');
  }

  async function produceMissed(f: Awaited<ReturnType<typeof resumeSetup>>['f']) {
    f.source.produce('topic.totals', [
      { key: 'a', value: total(2) },
      { key: 'b', value: total(1) },
      { key: 'a', value: total(3) },
    ]);
    await until(() => f.ctx.cache.streams.get('totals')!.position === '4', 'the missed records');
  }

  test('resume with the Last-Event-ID header replays exactly the missed updates', async (t) => {
    const { f, lastId } = await resumeSetup(t);
    await produceMissed(f);
    const conn = await openSse(`${f.url}/v1/stream?streams=${SEL}`, {
      t,
      headers: { 'Last-Event-ID': lastId },
    });
    await expectExactlyMissed(conn, f);
  });

  test('resume with ?lastEventId= (first connection) replays exactly the missed updates', async (t) => {
    const { f, lastId } = await resumeSetup(t);
    await produceMissed(f);
    const conn = await openSse(
      `${f.url}/v1/stream?streams=${SEL}&lastEventId=${encodeURIComponent(lastId)}`,
      {
        t,
      },
    );
    await expectExactlyMissed(conn, f);
  });

  test('resume at the current position sends nothing until the next update', async (t) => {
    const { f, lastId } = await resumeSetup(t);
    const conn = await openSse(`${f.url}/v1/stream?streams=${SEL}`, {
      t,
      headers: { 'Last-Event-ID': lastId },
    });
    f.source.produce('topic.totals', [{ key: 'q', value: total(1) }]);
    const ev = await conn.nextEvent();
    assert.equal(ev.event, 'update');
    assert.equal(json(ev).key, 'q');
  });

  test('an id older than the history gets a snapshot marked resync (too_old)', async (t) => {
    const { f, lastId } = await resumeSetup(t, { HISTORY_SIZE: '2', HISTORY_SECONDS: '0' });
    await produceMissed(f);
    const conn = await openSse(`${f.url}/v1/stream?streams=${SEL}`, {
      t,
      headers: { 'Last-Event-ID': lastId },
    });
    const { ev, body } = await expectSnapshot(conn);
    assert.equal(body.resync, true);
    assert.equal(body.reason, 'too_old');
    assert.equal(ev.id, f.ctx.selections.resolve(SEL).eventId());
    assert.deepEqual(body.streams.totals.entries.a.value, { n: 3 });
  });

  test('an id for another set of streams gets a resync snapshot (other_streams)', async (t) => {
    const { f, lastId } = await resumeSetup(t);
    const conn = await openSse(`${f.url}/v1/stream?streams=totals`, {
      t,
      headers: { 'Last-Event-ID': lastId },
    });
    const { body } = await expectSnapshot(conn);
    assert.equal(body.resync, true);
    assert.equal(body.reason, 'other_streams');
    assert.deepEqual(Object.keys(body.streams), ['totals']);
  });

  test('an id ahead of this instance waits for it to catch up, then replays', async (t) => {
    const { f } = await resumeSetup(t);
    const sel = f.ctx.selections.resolve(SEL);
    const ahead = `${sel.idPrefix}:0_3`; // this instance is at totals offset 1
    const conn = await openSse(`${f.url}/v1/stream?streams=${SEL}`, {
      t,
      headers: { 'Last-Event-ID': ahead },
    });
    await until(() => conn.received.length > 0 || f.ctx.hub.size > 0 || conn.status === 200, 'headers');
    f.source.produce('topic.totals', [
      { key: 'a', value: total(2) },
      { key: 'b', value: total(1) },
      { key: 'c', value: total(1) },
    ]);
    const ev = await conn.nextEvent();
    assert.equal(ev.event, 'update', 'no snapshot: the client already had offsets 1 and 2');
    assert.equal(json(ev).key, 'c');
  });

  test('an id ahead that this instance never reaches gets a resync snapshot (ahead)', async (t) => {
    const { f } = await resumeSetup(t);
    const sel = f.ctx.selections.resolve(SEL);
    const conn = await openSse(`${f.url}/v1/stream?streams=${SEL}`, {
      t,
      headers: { 'Last-Event-ID': `${sel.idPrefix}:0_50` },
    });
    const { body } = await expectSnapshot(conn); // after RESUME_WAIT_MS
    assert.equal(body.resync, true);
    assert.equal(body.reason, 'ahead');
  });

  for (const [name, path, headers, code] of [
    [
      'malformed Last-Event-ID header',
      `/v1/stream?streams=${SEL}`,
      // Not a stream client (a stream client gets a resync instead: core-stream-wait.test.ts).
      { 'Last-Event-ID': 'garbage', accept: '*/*' },
      'BAD_LAST_EVENT_ID',
    ],
    [
      'malformed lastEventId parameter',
      `/v1/stream?streams=${SEL}&lastEventId=1:2:3`,
      { accept: '*/*' },
      'BAD_LAST_EVENT_ID',
    ],
    ['unknown stream', '/v1/stream?streams=orders,nope', {}, 'UNKNOWN_STREAM'],
    ['repeated streams parameter', '/v1/stream?streams=orders&streams=totals', {}, 'BAD_QUERY'],
    ['repeated lastEventId parameter', '/v1/stream?lastEventId=a&lastEventId=b', {}, 'BAD_QUERY'],
  ] as const) {
    test(`${name}: 400 JSON with the catalogue code, nothing streamed`, async (t) => {
      const f = await startFixture(t);
      const res = await httpGet(`${f.url}${path}`, {
        accept: 'text/event-stream',
        ...(headers as Record<string, string>),
      });
      assert.equal(res.status, 400);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const body = JSON.parse(res.text);
      assert.equal(body.error.code, code);
      assert.equal(typeof body.error.message, 'string');
      assert.ok(!res.text.includes('event:'), 'no SSE framing in the body');
      assert.equal(f.ctx.hub.size, 0);
    });
  }

  test('heartbeat comments arrive on an idle stream', async (t) => {
    const f = await startFixture(t, { env: { HEARTBEAT_MS: '100' } });
    const conn = await openSse(`${f.url}/v1/stream`, { t });
    await expectSnapshot(conn);
    const beat = await conn.waitFor((i) => i.kind === 'comment');
    assert.deepEqual(beat, { kind: 'comment', text: '' });
    await conn.waitFor((i) => i.kind === 'comment'); // and they keep coming
  });

  test('a stream opened before readiness is held open and gets its snapshot once ready', async (t) => {
    const f = await startFixture(t, {
      start: false,
      seed: (s) => s.produce('topic.totals', [{ key: 'a', value: total(7) }]),
    });
    const early = await openSse(`${f.url}/v1/stream?streams=${SEL}`, { t });
    assert.equal(early.status, 200, 'EventSource gives up on a non-200: the stream is held instead');
    const waiting = await early.waitFor((i) => i.kind === 'comment');
    assert.match((waiting as { text: string }).text, /waiting/);
    assert.equal(f.ctx.cache.isReady(), false);
    await startGateway(f.ctx);
    const { body } = await expectSnapshot(early);
    assert.equal(body.resync, false);
    assert.deepEqual(body.streams.totals.entries.a.value, { n: 7 });
    f.source.produce('topic.totals', [{ key: 'a', value: total(8) }]);
    assert.equal(json(await early.nextEvent()).value.n, 8);
  });

  test('readiness reached with empty topics releases held streams at once (no heartbeat wait)', async (t) => {
    const f = await startFixture(t, { start: false, env: { HEARTBEAT_MS: '300000' } });
    const early = await openSse(`${f.url}/v1/stream`, { t });
    await early.waitFor((i) => i.kind === 'comment');
    await startGateway(f.ctx);
    const { body } = await expectSnapshot(early); // would take 5 minutes without a readiness wake-up
    assert.deepEqual(body.streams.totals.entries, {});
  });

  test('CR/LF in keys and values cannot forge an SSE field or event', async (t) => {
    const f = await startFixture(t);
    const conn = await openSse(`${f.url}/v1/stream?streams=${SEL}`, { t });
    await expectSnapshot(conn);
    const key = 'k\r\n\r\nevent: forged\ndata: {}\r\rid: 1\n\n';
    const value = JSON.stringify({ text: 'x\r\n\r\nevent: forged\r\rdata: pwned\n\n' });
    f.source.produce('topic.totals', [{ key, value }]);
    f.source.produce('topic.orders', [{ key, value }]);
    const [a, b] = await conn.takeEvents(2);
    for (const ev of [a!, b!]) {
      assert.equal(ev.event, 'update');
      assert.equal(json(ev).key, key);
      assert.equal(json(ev).value.text, 'x\r\n\r\nevent: forged\r\rdata: pwned\n\n');
    }
    const snap = await openSse(`${f.url}/v1/stream?streams=${SEL}`, { t });
    const { body } = await expectSnapshot(snap);
    assert.ok(Object.hasOwn(body.streams.totals.entries, key));
    assert.ok(conn.received.every((i) => i.kind !== 'event' || i.event !== 'forged'));
  });

  test('a client that goes away is removed from the hub', async (t) => {
    const f = await startFixture(t);
    const conns = await Promise.all([1, 2, 3].map(() => openSse(`${f.url}/v1/stream`, { t })));
    for (const c of conns) await expectSnapshot(c);
    assert.equal(f.ctx.hub.size, 3);
    for (const c of conns) c.close();
    await until(() => f.ctx.hub.size === 0, 'the hub to forget closed clients');
  });
});
