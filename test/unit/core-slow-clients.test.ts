/**
 * Slow clients over real sockets: a client that never reads is cut with SLOW_CONSUMER while its
 * buffer stays bounded and the others keep receiving everything; a paused table client gets
 * conflated updates (newest value per key) and ends with exactly the cache's state.
 *
 * Determinism: a paused reader's kernel buffers absorb a few MB before the server sees
 * backpressure, so the tests produce rounds until the condition under test is observed (with a
 * byte guard), never sleep.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { setImmediate as turn } from 'node:timers/promises';
import type { Subscriber } from '../../gateway/sse/subscriber.ts';
import { openSse, type SseEventItem } from '../helpers/sse-client.ts';
import { type Fixture, startFixture, until } from './core-fixture.ts';

/** Most bytes a test may produce before it gives up waiting for backpressure. */
const BYTE_GUARD = 64 * 1024 * 1024;
const VALUE_PAD = 'x'.repeat(4000);

/** The server-side subscriber whose socket is connected to a client's local port. */
function subscriberFor(f: Fixture, clientPort: number): Subscriber | undefined {
  for (const sub of f.ctx.hub.subscribers()) if (sub.res.socket?.remotePort === clientPort) return sub;
  return undefined;
}

async function counter(f: Fixture, name: 'slowDisconnects' | 'conflations'): Promise<number> {
  return (await f.ctx.metrics[name].get()).values[0]?.value ?? 0;
}

/** A raw TCP client that sends the request and never reads a byte (until told to). */
async function neverReader(f: Fixture, path: string): Promise<Socket> {
  const sock = connect(f.server.port, '127.0.0.1');
  await once(sock, 'connect');
  sock.pause();
  sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
  return sock;
}

describe('slow clients', () => {
  test('a client that never reads is cut with SLOW_CONSUMER, bounded; the others get everything', async (t) => {
    const limit = 16 * 1024;
    const f = await startFixture(t, { env: { CLIENT_BUFFER_BYTES: String(limit), HEARTBEAT_MS: '300000' } });
    const normal = await openSse(`${f.url}/v1/stream?streams=totals`, { t });
    assert.equal((await normal.nextEvent()).event, 'snapshot');
    const raw = await neverReader(f, '/v1/stream?streams=totals');
    t.after(() => raw.destroy());
    await until(() => f.ctx.hub.size === 2, 'both clients to join');
    const slow = subscriberFor(f, raw.localPort!)!;
    assert.ok(slow, 'the never-reading client is a subscriber');
    const serverSocket = slow.res.socket!;

    let produced = 0;
    let bytes = 0;
    let maxBuffered = 0;
    const roundBytes = 20 * (VALUE_PAD.length + 200);
    while (slow.isOpen) {
      assert.ok(bytes < BYTE_GUARD, `no SLOW_CONSUMER after ${bytes} bytes`);
      const batch = Array.from({ length: 20 }, () => {
        produced++;
        return { key: `k${produced % 7}`, value: JSON.stringify({ n: produced, pad: VALUE_PAD }) };
      });
      f.source.produce('topic.totals', batch);
      bytes += roundBytes;
      // The normal client receives the whole round before the next one is produced.
      for (let i = 0; i < batch.length; i++) {
        const ev = await normal.nextEvent();
        assert.equal(ev.event, 'update');
        assert.equal(JSON.parse(ev.data).value.n, produced - batch.length + 1 + i, 'in order, none missing');
      }
      if (slow.isOpen) maxBuffered = Math.max(maxBuffered, slow.res.writableLength);
    }
    assert.equal(await counter(f, 'slowDisconnects'), 1);
    assert.equal(f.ctx.hub.size, 1, 'only the normal client is left');
    // Bounded: one write in flight (a round, or a queue flush of at most the limit) in the socket;
    // the queue behind it is bounded by the limit (it is what triggers the cut).
    assert.ok(
      maxBuffered <= Math.max(limit, roundBytes) + 4096,
      `${maxBuffered} bytes buffered for a non-reader`,
    );

    // The process lets go of the socket (and its buffers) unless the client starts reading.
    if (!serverSocket.destroyed) await once(serverSocket, 'close');

    // The normal client is unaffected and keeps receiving.
    f.source.produce('topic.totals', [{ key: 'after', value: '{"n":0}' }]);
    const ev = await normal.nextEvent();
    assert.equal(JSON.parse(ev.data).key, 'after');
  });

  test('a burst far larger than CLIENT_BUFFER_BYTES does not cut a client that reads', async (t) => {
    const f = await startFixture(t, { env: { CLIENT_BUFFER_BYTES: '16384', HEARTBEAT_MS: '300000' } });
    const conn = await openSse(`${f.url}/v1/stream?streams=totals`, { t });
    assert.equal((await conn.nextEvent()).event, 'snapshot');
    const burst = Array.from({ length: 300 }, (_, i) => ({
      key: `k${i}`,
      value: JSON.stringify({ i, pad: VALUE_PAD }),
    }));
    f.source.produce('topic.totals', burst); // ~1.2 MB applied in one tick: one write
    const events = await conn.takeEvents(burst.length);
    assert.deepEqual(
      events.map((e) => JSON.parse(e.data).value.i),
      burst.map((_, i) => i),
    );
    assert.equal(await counter(f, 'slowDisconnects'), 0);
    assert.equal(f.ctx.hub.size, 1);
  });

  test('a cut client that reads again receives the final error event naming SLOW_CONSUMER', async (t) => {
    const f = await startFixture(t, { env: { CLIENT_BUFFER_BYTES: '16384', HEARTBEAT_MS: '300000' } });
    const conn = await openSse(`${f.url}/v1/stream?streams=totals`, { t });
    assert.equal((await conn.nextEvent()).event, 'snapshot');
    conn.pause(); // the HTTP client stops reading the socket once its small buffer is full
    const slow = subscriberFor(f, conn.res.socket!.localPort!)!;
    let produced = 0;
    while (slow.isOpen) {
      assert.ok(produced * VALUE_PAD.length < BYTE_GUARD, 'no SLOW_CONSUMER');
      const seq = f.ctx.cache.sequence;
      f.source.produce(
        'topic.totals',
        Array.from({ length: 20 }, () => ({
          key: `k${produced++ % 5}`,
          value: JSON.stringify({ pad: VALUE_PAD }),
        })),
      );
      await until(() => f.ctx.cache.sequence >= seq + 20, 'the round to be applied');
      await turn(); // the hub flushes one turn after the apply
    }
    // Reading again right away (within the end grace period) gets everything, then the error.
    conn.resume();
    const err = await conn.waitFor((i) => i.kind === 'event' && i.event === 'gateway-error');
    const body = JSON.parse((err as SseEventItem).data);
    assert.equal(body.code, 'SLOW_CONSUMER');
    assert.match(body.message, /16384 bytes/);
    await conn.closed;
    assert.equal(conn.pending.length, 0, 'the error event is the last thing on the stream');
  });

  test('a paused table client gets conflated updates and ends with the cache state', async (t) => {
    const f = await startFixture(t, {
      env: { CLIENT_BUFFER_BYTES: String(256 * 1024 * 1024), HEARTBEAT_MS: '300000' },
      seed: (s) => s.produce('topic.totals', [{ key: 'k0', value: '{"n":0}' }]),
    });
    const slow = await openSse(`${f.url}/v1/stream?streams=totals`, { t });
    const snapshot = await slow.nextEvent();
    assert.equal(snapshot.event, 'snapshot');
    slow.pause();
    const sub = subscriberFor(f, slow.res.socket!.localPort!)!;
    const keys = Array.from({ length: 10 }, (_, i) => `k${i}`);
    let n = 0;
    let updates = 0;
    let bytes = 0;
    /** One round: every key updated twice, so a paused client must conflate within the round. */
    const round = async (): Promise<void> => {
      const seq = f.ctx.cache.sequence;
      const batch = [...keys, ...keys].map((key) => ({
        key,
        value: JSON.stringify({ n: ++n, pad: VALUE_PAD }),
      }));
      f.source.produce('topic.totals', batch);
      updates += batch.length;
      bytes += batch.length * VALUE_PAD.length;
      await until(() => f.ctx.cache.sequence >= seq + batch.length, 'the round to be applied');
      await turn();
    };
    while ((await counter(f, 'conflations')) === 0) {
      assert.ok(bytes < BYTE_GUARD, `the paused client never conflated after ${bytes} bytes`);
      await round();
    }
    assert.ok(sub.isOpen, 'conflation, not disconnection');
    // Deletes conflate too (newest op per key wins).
    f.source.produce('topic.totals', [{ key: 'k3', value: null }]);
    updates++;
    await round();
    await round();

    slow.resume();
    const finalId = f.ctx.selections.resolve('totals').eventId();
    const state = new Map<string, unknown>(
      Object.entries(
        JSON.parse(snapshot.data).streams.totals.entries as Record<string, { value: unknown }>,
      ).map(([k, v]) => [k, v.value]),
    );
    let received = 0;
    for (;;) {
      const ev: SseEventItem = await slow.nextEvent();
      assert.equal(ev.event, 'update');
      received++;
      const u = JSON.parse(ev.data);
      if (u.op === 'delete') state.delete(u.key);
      else state.set(u.key, u.value);
      if (ev.id === finalId) break;
    }
    const cacheState = JSON.parse(f.ctx.cache.streams.get('totals')!.render()).entries as Record<
      string,
      { value: unknown }
    >;
    assert.deepEqual(
      Object.fromEntries([...state].sort(([a], [b]) => (a < b ? -1 : 1))),
      Object.fromEntries(
        Object.entries(cacheState)
          .map(([k, v]) => [k, v.value] as const)
          .sort(([a], [b]) => (a < b ? -1 : 1)),
      ),
    );
    assert.ok(received < updates, `conflated: ${received} events for ${updates} updates`);
    assert.ok(!state.has('k3') || (state.get('k3') as { n: number }).n > 0);
  });
});
