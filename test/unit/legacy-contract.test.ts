/**
 * The reference contract against the reference backend, on the same records: same body (bar the
 * volatile render time), byte for byte; the declared shape; a pure render over a view that is
 * built once per version and never re-parses an unchanged row.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { liveMapContract, liveMapShape } from '../../compat/contracts/live-map.ts';
import { ContractRenderer } from '../../legacy-adapter/contract-renderer.ts';
import { buildView } from '../../legacy-adapter/snapshot-view.ts';
import {
  call,
  generator,
  ORDERS,
  produceOrders,
  ROUTE,
  startLegacyFixture,
  TOTALS,
  until,
} from './legacy-fixture.ts';

describe('live-map contract', () => {
  test('renders exactly what the reference backend serves from the same records', async (t) => {
    const f = await startLegacyFixture(t);
    const gen = generator(11);
    await produceOrders(f, gen, 180, 1_700_000_000_000);
    await produceOrders(f, gen, 20, 1_700_000_100_000);
    // Records both sides must skip alike, and a country deleted from the totals table.
    f.source.produce(ORDERS, [
      { key: 'bad1', value: '{"id":"bad1","city":"X"}', timestamp: 1_700_000_000_500 },
      { key: 'bad2', value: '[1,2,3]', timestamp: 1_700_000_000_500 },
    ]);
    f.source.produce(TOTALS, [
      { key: 'ZZ', value: '{"country":"ZZ","orders":"many"}', timestamp: 1_700_000_000_500 },
      { key: 'US', value: null, timestamp: 1_700_000_000_500 },
    ]);
    await until(
      () =>
        f.ctx.cache.streams.get('orders')!.offsets[0] === 202 &&
        f.ctx.cache.streams.get('totals')!.offsets[0] === 202,
      'garbage read',
    );
    f.backend.refresh();

    const legacy = await call(`${f.backendUrl}${ROUTE}`);
    assert.equal(legacy.status, 200);
    const legacyBody = liveMapShape.parse(JSON.parse(legacy.text));
    const rendered = liveMapShape.parse(
      liveMapContract.render(buildView(f.ctx.selections.resolve('orders,totals'))),
    );

    assert.equal(legacyBody.recent_orders.length, 50);
    assert.ok(legacyBody.totals_by_country.length > 5);
    assert.ok(!legacyBody.totals_by_country.some((c) => c.country_code === 'US' || c.country_code === 'ZZ'));
    assert.deepEqual({ ...rendered, generated_at: '' }, { ...legacyBody, generated_at: '' });
    // Same key order too: the bytes match once the render time is aligned.
    assert.equal(JSON.stringify({ ...rendered, generated_at: legacyBody.generated_at }), legacy.text);
    // The contract's own time is the data time: the newest record it saw.
    assert.equal(rendered.generated_at, new Date(1_700_000_100_019).toISOString());
  });

  test('the view is frozen and built once per version; unchanged rows are never parsed again', async (t) => {
    const f = await startLegacyFixture(t);
    const gen = generator(3);
    await produceOrders(f, gen, 30, 1_700_000_000_000);
    const selection = f.ctx.selections.resolve('orders,totals');
    const renderer = new ContractRenderer(liveMapContract, selection, f.ctx.bodies, 'test:live-map');
    const first = renderer.current();
    assert.equal(renderer.current(), first, 'same version: the same render');
    assert.equal(renderer.body(), renderer.body(), 'same version: the same body object');
    assert.ok(Object.isFrozen(first.view.table('totals')));
    assert.ok(Object.isFrozen(first.view.feed('orders')[0]!.value));
    assert.throws(() => (first.view.feed('orders') as unknown[]).push(1), TypeError);
    assert.throws(() => first.view.table('orders'), /no table stream "orders"/);
    assert.deepEqual(liveMapContract.render(first.view), first.value, 'pure: same view, same body');

    await produceOrders(f, gen, 1, 1_700_000_001_000);
    const second = renderer.current();
    assert.notEqual(second, first);
    assert.match(second.etag, /^W\/"[0-9a-f]{6}-[0-9a-f]{6}:31_/);
    // Rows and items that did not change are the very same parsed objects.
    const firstOrders = new Set(first.view.feed('orders'));
    assert.equal(second.view.feed('orders').filter((i) => firstOrders.has(i)).length, 30);
    const firstTotals = new Set(first.view.table('totals'));
    assert.equal(
      second.view.table('totals').filter((r) => firstTotals.has(r)).length,
      second.view.table('totals').length - 1,
      'only the country of the new order was re-read',
    );
  });
});
