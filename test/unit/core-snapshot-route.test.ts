/** `GET /v1/snapshot`: the polling contract, over real sockets on a MemorySource gateway. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { VersionedBody } from '../../gateway/poll/versioned-body.ts';
import type { MemorySource } from '../../gateway/source/memory-source.ts';
import { httpGet } from '../helpers/sse-client.ts';
import { type Fixture, startFixture, total, until } from './core-fixture.ts';

const seed = (s: MemorySource): void => {
  s.produce('topic.totals', [
    { key: 'fr', value: total(1), timestamp: 1000 },
    { key: 'de', value: total(2), timestamp: 2000 },
  ]);
  s.produce('topic.orders', [{ key: 'o1', value: '{"amount":3}', timestamp: 3000 }]);
};

/** Counts body renders and collects the VersionedBody objects handed out (public BodyCache seam). */
function spyBodies(f: Fixture): { renders: () => number; bodies: VersionedBody[] } {
  let renders = 0;
  const bodies: VersionedBody[] = [];
  const original = f.ctx.bodies.get.bind(f.ctx.bodies);
  f.ctx.bodies.get = (key, version, render) => {
    const body = original(key, version, () => {
      renders++;
      return render();
    });
    bodies.push(body);
    return body;
  };
  return { renders: () => renders, bodies };
}

describe('GET /v1/snapshot', () => {
  test('200 with the state and its position; ETag, Cache-Control and poll headers', async (t) => {
    const now = () => 1_700_000_000_000;
    const f = await startFixture(t, { seed, now, env: { POLL_INTERVAL_MS: '5000' } });
    const res = await httpGet(`${f.url}/v1/snapshot?streams=totals,orders`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^application\/json; charset=utf-8/);
    const id = f.ctx.selections.resolve('orders,totals').eventId();
    assert.deepEqual(JSON.parse(res.text), {
      position: id,
      streams: {
        orders: {
          mode: 'feed',
          maxItems: 500,
          items: [{ key: 'o1', value: { amount: 3 }, createdAt: 3000 }],
        },
        totals: {
          mode: 'table',
          entries: { fr: { value: { n: 1 }, createdAt: 1000 }, de: { value: { n: 2 }, createdAt: 2000 } },
        },
      },
    });
    assert.equal(res.headers.etag, `W/"${id}"`);
    assert.equal(res.headers['cache-control'], 'public, no-cache');
    assert.equal(res.headers['x-poll-interval-ms'], '5000');
    assert.equal(res.headers['x-server-time'], String(now()));
    assert.equal(res.headers['x-switchyard-stale'], undefined);
    assert.match(String(res.headers.vary), /Accept-Encoding/);
    assert.equal(res.headers['content-length'], String(res.body.length));
    assert.equal(res.headers['content-encoding'], undefined, 'not compressed unless asked');
  });

  test('two gateways at the same position give the same ETag (and the same data)', async (t) => {
    const a = await startFixture(t, { seed });
    const b = await startFixture(t, { seed });
    const [ra, rb] = await Promise.all([httpGet(`${a.url}/v1/snapshot`), httpGet(`${b.url}/v1/snapshot`)]);
    assert.equal(ra.headers.etag, rb.headers.etag);
    assert.deepEqual(JSON.parse(ra.text), JSON.parse(rb.text));
    // b's ETag is a valid If-None-Match on a.
    const cross = await httpGet(`${a.url}/v1/snapshot`, { 'If-None-Match': String(rb.headers.etag) });
    assert.equal(cross.status, 304);
  });

  test('If-None-Match: 304 with no body while the position holds, 200 once it moves', async (t) => {
    const f = await startFixture(t, { seed });
    const first = await httpGet(`${f.url}/v1/snapshot`);
    const etag = String(first.headers.etag);
    for (const inm of [etag, etag.replace(/^W\//, ''), `"other", ${etag}`, '*']) {
      const res = await httpGet(`${f.url}/v1/snapshot`, { 'If-None-Match': inm });
      assert.equal(res.status, 304, inm);
      assert.equal(res.body.length, 0);
      assert.equal(res.headers.etag, etag);
      assert.equal(res.headers['cache-control'], 'public, no-cache');
    }
    f.source.produce('topic.totals', [{ key: 'fr', value: total(5) }]);
    await until(() => f.ctx.cache.streams.get('totals')!.position === '3', 'the update');
    const changed = await httpGet(`${f.url}/v1/snapshot`, { 'If-None-Match': etag });
    assert.equal(changed.status, 200);
    assert.notEqual(changed.headers.etag, etag);
    assert.deepEqual(JSON.parse(changed.text).streams.totals.entries.fr.value, { n: 5 });
  });

  test('gzip when asked (large bodies); rendered and compressed once per version', async (t) => {
    const f = await startFixture(t, {
      seed: (s) =>
        s.produce(
          'topic.totals',
          Array.from({ length: 50 }, (_, i) => ({
            key: `city-${i}`,
            value: total(i, { name: 'x'.repeat(40) }),
          })),
        ),
    });
    const spy = spyBodies(f);
    const plain = await httpGet(`${f.url}/v1/snapshot`);
    const gz1 = await httpGet(`${f.url}/v1/snapshot`, { 'Accept-Encoding': 'gzip, deflate, br' });
    const gz2 = await httpGet(`${f.url}/v1/snapshot`, { 'Accept-Encoding': 'gzip' });
    const refused = await httpGet(`${f.url}/v1/snapshot`, { 'Accept-Encoding': 'gzip;q=0, br' });
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(gz1.headers['content-encoding'], 'gzip');
    assert.equal(gz2.headers['content-encoding'], 'gzip');
    assert.equal(refused.headers['content-encoding'], undefined);
    assert.equal(gunzipSync(gz1.body).toString('utf8'), plain.text);
    assert.ok(gz1.body.length < plain.body.length);
    assert.equal(gz1.headers['content-length'], String(gz1.body.length));
    assert.equal(gz1.headers.etag, plain.headers.etag, 'weak ETag: same for both encodings');

    assert.equal(spy.renders(), 1, 'four requests at one version: one render');
    assert.equal(spy.bodies.length, 4);
    assert.ok(
      spy.bodies.every((b) => b === spy.bodies[0]),
      'the same body object served every request',
    );
    assert.equal(spy.bodies[0]!.gzip, spy.bodies[0]!.gzip, 'gzip is made once and kept');
    assert.ok(spy.bodies[0]!.gzip.equals(gz2.body));

    f.source.produce('topic.totals', [{ key: 'city-0', value: total(100) }]);
    await until(() => f.ctx.cache.streams.get('totals')!.position === '51', 'the update');
    await httpGet(`${f.url}/v1/snapshot`);
    await httpGet(`${f.url}/v1/snapshot`);
    assert.equal(spy.renders(), 2, 'one more render for the new version');
  });

  test('small bodies are not compressed', async (t) => {
    const f = await startFixture(t, { seed });
    const res = await httpGet(`${f.url}/v1/snapshot?streams=orders`, { 'Accept-Encoding': 'gzip' });
    assert.equal(res.headers['content-encoding'], undefined);
    assert.equal(JSON.parse(res.text).streams.orders.items.length, 1);
  });

  test('Cache-Control: no-cache whatever POLL_INTERVAL_MS (a faster poller never reads a stale copy)', async (t) => {
    const f = await startFixture(t, { seed, env: { POLL_INTERVAL_MS: '2500' } });
    const res = await httpGet(`${f.url}/v1/snapshot`);
    assert.equal(res.headers['cache-control'], 'public, no-cache');
    assert.equal(res.headers['x-poll-interval-ms'], '2500');
  });

  test('503 NOT_READY with Retry-After before the bootstrap; 400 for bad input even then', async (t) => {
    const f = await startFixture(t, { seed, start: false });
    const res = await httpGet(`${f.url}/v1/snapshot`);
    assert.equal(res.status, 503);
    assert.equal(JSON.parse(res.text).error.code, 'NOT_READY');
    assert.match(String(res.headers['retry-after']), /^\d+$/);
    const ready = await httpGet(`${f.url}/readyz`);
    assert.equal(ready.status, 503);
    const bad = await httpGet(`${f.url}/v1/snapshot?streams=nope`);
    assert.equal(bad.status, 400);
    assert.equal(JSON.parse(bad.text).error.code, 'UNKNOWN_STREAM');
    const twice = await httpGet(`${f.url}/v1/snapshot?streams=orders&streams=totals`);
    assert.equal(JSON.parse(twice.text).error.code, 'BAD_QUERY');
  });

  test('X-Switchyard-Stale once the source has been silent past STALE_AFTER_MS', async (t) => {
    let clock = 1_700_000_000_000;
    const f = await startFixture(t, { seed, now: () => clock, env: { STALE_AFTER_MS: '5000' } });
    f.source.setConnected(false);
    clock += 4000;
    assert.equal((await httpGet(`${f.url}/v1/snapshot`)).headers['x-switchyard-stale'], undefined);
    clock += 2000;
    const stale = await httpGet(`${f.url}/v1/snapshot`);
    assert.equal(stale.status, 200, 'the last state is still served');
    assert.equal(stale.headers['x-switchyard-stale'], '6000');
    f.source.setConnected(true);
    assert.equal((await httpGet(`${f.url}/v1/snapshot`)).headers['x-switchyard-stale'], undefined);
  });

  test('a TTL expiry changes the ETag: no 304 and no cached body for changed data', async (t) => {
    let clock = 1_700_000_000_000;
    const f = await startFixture(t, {
      seed,
      now: () => clock,
      env: {
        STREAMS: JSON.stringify([
          { name: 'orders', topic: 'topic.orders', mode: 'feed' },
          { name: 'totals', topic: 'topic.totals', mode: 'table', ttlMs: 1000 },
        ]),
      },
    });
    const before = await httpGet(`${f.url}/v1/snapshot?streams=totals`);
    assert.equal(before.headers.etag, `W/"${f.ctx.selections.resolve('totals').eventId()}"`);
    clock += 2000;
    f.ctx.cache.sweepExpired();
    const after = await httpGet(`${f.url}/v1/snapshot?streams=totals`, {
      'If-None-Match': String(before.headers.etag),
    });
    assert.equal(after.status, 200);
    assert.deepEqual(JSON.parse(after.text).streams.totals.entries, {});
    assert.notEqual(after.headers.etag, before.headers.etag);
    assert.equal(
      JSON.parse(after.text).position,
      JSON.parse(before.text).position,
      'the position did not move',
    );
  });
});
