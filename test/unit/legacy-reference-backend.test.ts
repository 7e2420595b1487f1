/**
 * The reference legacy backend: warming up, its own ETag/304, Cache-Control and gzip, and a
 * report recomputed on its own cadence (so it lags the data, as old systems do). And the tee
 * that feeds it the demo's records without disturbing the cache.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { streamSchema } from '../../gateway/config/streams.ts';
import { LiveMapGenerator, seededRandom } from '../../gateway/source/demo-live-map.ts';
import { MemorySource } from '../../gateway/source/memory-source.ts';
import type { PartitionPlan, RecordSink } from '../../gateway/source/types.ts';
import { REPORT_PATH, ReferenceBackend } from '../../legacy-adapter/reference-backend/server.ts';
import { LiveMapStore } from '../../legacy-adapter/reference-backend/store.ts';
import { TeeSource } from '../../legacy-adapter/tee-source.ts';
import { call, until } from './legacy-fixture.ts';

const streams = [
  streamSchema.parse({ name: 'orders', mode: 'feed', topic: 'o' }),
  streamSchema.parse({ name: 'totals', mode: 'table', topic: 't' }),
];

async function setup(t: { after(fn: () => unknown): void }, refreshMs: number) {
  const source = new MemorySource({ streams });
  const store = new LiveMapStore({ ordersTopic: 'o', totalsTopic: 't' });
  const backend = new ReferenceBackend(store, { refreshMs });
  const port = await backend.listen(0, '127.0.0.1');
  t.after(() => backend.close());
  const gen = new LiveMapGenerator(seededRandom(1));
  let at = 1_700_000_000_000;
  const produce = (n: number) => {
    for (let i = 0; i < n; i++) {
      const { order, total } = gen.next(at++);
      source.produce('o', [{ key: order.id, value: JSON.stringify(order) }]);
      source.produce('t', [{ key: total.country, value: JSON.stringify(total) }]);
    }
  };
  return { source, store, backend, url: `http://127.0.0.1:${port}${REPORT_PATH}`, produce };
}

describe('reference legacy backend', () => {
  test('503 while warming up; then its report with ETag/304, Cache-Control and gzip', async (t) => {
    const s = await setup(t, 3_600_000);
    const cold = await call(s.url);
    assert.equal(cold.status, 503);
    assert.equal(cold.headers['retry-after'], '1');
    s.produce(40);
    const first = new Promise<void>((resolve) => s.backend.onRefresh(() => resolve()));
    await s.source.start(s.store);
    await first;
    await until(() => s.store.orders.length === 40, 'orders stored');
    s.backend.refresh();
    const res = await call(s.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers['cache-control'], 'public, max-age=10');
    assert.equal(res.headers['content-type'], 'application/json; charset=utf-8');
    assert.match(String(res.headers.etag), /^"[A-Za-z0-9_-]{20}"$/);
    const body = JSON.parse(res.text);
    assert.deepEqual(Object.keys(body), [
      'generated_at',
      'refresh_seconds',
      'totals_by_country',
      'recent_orders',
    ]);
    assert.equal(body.recent_orders.length, 40);
    assert.equal(body.refresh_seconds, 10);
    const etag = String(res.headers.etag);
    assert.equal((await call(s.url, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await call(s.url, { headers: { 'if-none-match': `W/${etag}` } })).status, 304);
    const gz = await call(s.url, { headers: { 'accept-encoding': 'gzip, br' } });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gz.body).toString('utf8'), res.text);
    assert.equal((await call(s.url.replace(REPORT_PATH, '/healthz'))).status, 200);
  });

  test('recomputes on its own cadence: new data shows only at the next refresh', async (t) => {
    const s = await setup(t, 400);
    const refreshes: number[] = [];
    let wake: () => void = () => {};
    s.backend.onRefresh((at) => {
      refreshes.push(at);
      wake();
    });
    const nextRefresh = () => new Promise<void>((resolve) => (wake = resolve));
    let r = nextRefresh();
    await s.source.start(s.store);
    await r;
    const empty = JSON.parse((await call(s.url)).text);
    assert.deepEqual(empty.recent_orders, []);
    s.produce(5);
    await until(() => s.store.orders.length === 5, 'orders stored');
    // Between two refreshes the report still shows the old state, ETag and all.
    const before = await call(s.url);
    // (Checked when no refresh ran meanwhile, which a 400 ms cadence all but guarantees.)
    if (refreshes.length === 1) assert.deepEqual(JSON.parse(before.text).recent_orders, []);
    r = nextRefresh();
    await r;
    const after = JSON.parse((await call(s.url)).text);
    assert.equal(after.recent_orders.length, 5);
    assert.ok(Date.parse(after.generated_at) > Date.parse(empty.generated_at));
    assert.ok(refreshes.length >= 2);
  });

  test('the tee feeds extra sinks the same records; a failing one never disturbs the primary', async (t) => {
    const source = new MemorySource({ streams });
    const seen: string[] = [];
    const errors: unknown[] = [];
    const primary: RecordSink & { plans: PartitionPlan[] } = {
      plans: [],
      lineage() {},
      plan(p) {
        this.plans.push(p);
      },
      apply(_topic, _p, records) {
        for (const r of records) seen.push(String(r.value));
      },
      nextOffset: () => 7,
    };
    const failing: RecordSink = {
      lineage() {},
      plan() {},
      apply() {
        throw new Error('ingest bug');
      },
      nextOffset: () => 0,
    };
    const store = new LiveMapStore({ ordersTopic: 'o', totalsTopic: 't' });
    const tee = new TeeSource(source, [failing, store], (err) => errors.push(err));
    assert.equal(tee.kind, 'memory');
    await tee.start(primary);
    t.after(() => tee.stop());
    assert.equal(primary.plans.length, 2);
    assert.ok(store.isLoaded, 'empty topics: loaded once both are planned');
    source.produce('t', [{ key: 'FR', value: '{"country":"FR","orders":1,"revenueUsd":2,"updatedAt":3}' }]);
    await until(() => seen.length === 1, 'record delivered');
    assert.equal(store.totals.get('FR')?.orders, 1);
    assert.equal(errors.length, 1);
  });
});
