/**
 * Ids carry the lineage of the data: a change (topic re-created, demo restarted, another cluster)
 * makes an old id resync (`lineage`), never replay unrelated offsets; the state of the replaced
 * topic is dropped and the streams that showed it end with a retry.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Selection } from '../../gateway/cache/selection.ts';
import { SnapshotCache } from '../../gateway/cache/snapshot-cache.ts';
import { DemoSource } from '../../gateway/source/demo-source.ts';
import { loadConfig } from '../../gateway/switchyard.ts';
import { openSse } from '../helpers/sse-client.ts';
import { startFixture, total, until } from './core-fixture.ts';

describe('lineage', () => {
  test('a re-created topic: open streams end with DATA_REPLACED, an old id resyncs (lineage)', async (t) => {
    const f = await startFixture(t, { env: { RETRY_MS: '500' } });
    f.source.produce(
      'topic.totals',
      [1, 2, 3].map((n) => ({ key: `k${n}`, value: total(n) })),
    );
    await until(() => f.ctx.cache.streams.get('totals')!.offsets[0] === 3, 'applied');
    const conn = await openSse(`${f.url}/v1/stream?streams=totals`, { t });
    const snap = await conn.nextEvent();
    const oldId = snap.id!;
    // Same offsets again after re-creation, other data.
    f.source.replaceData('topic.totals', 'memory-2');
    const end = await conn.waitFor((i) => i.kind === 'event' && i.event === 'gateway-error');
    assert.equal((JSON.parse((end as { data: string }).data) as { code: string }).code, 'DATA_REPLACED');
    await conn.closed;
    f.source.produce(
      'topic.totals',
      [7, 8, 9].map((n) => ({ key: `other${n}`, value: total(n) })),
    );
    await until(() => f.ctx.cache.streams.get('totals')!.offsets[0] === 3, 're-read');
    const again = await openSse(`${f.url}/v1/stream?streams=totals`, {
      t,
      headers: { 'last-event-id': oldId },
    });
    const ev = await again.nextEvent();
    assert.equal(ev.event, 'snapshot');
    const body = JSON.parse(ev.data) as {
      resync: boolean;
      reason: string;
      streams: { totals: { entries: object } };
    };
    assert.deepEqual([body.resync, body.reason], [true, 'lineage']);
    assert.deepEqual(Object.keys(body.streams.totals.entries).sort(), ['other7', 'other8', 'other9']);
    assert.notEqual(ev.id, oldId, 'same offsets, another id');
    assert.equal(ev.id!.split(':')[1], oldId.split(':')[1]);
  });

  test('two runs of the demo feed hand out ids of different lineages', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const prefixes: string[] = [];
    for (let run = 0; run < 2; run++) {
      const cache = new SnapshotCache({ streams: config.streams, historySize: 10 });
      const demo = new DemoSource(config.streams, 0);
      await demo.start(cache);
      const sel = [...cache.streams.values()];
      prefixes.push(new Selection(sel).eventId().split(':')[0]!);
      await demo.stop();
    }
    assert.equal(prefixes[0]!.slice(0, 6), prefixes[1]!.slice(0, 6), 'same set of streams');
    assert.notEqual(prefixes[0], prefixes[1], 'another lineage');
  });

  test('two gateways reading the same data (same lineage) hand out the same ids', async (t) => {
    const a = await startFixture(t);
    const b = await startFixture(t);
    for (const f of [a, b]) f.source.produce('topic.totals', [{ key: 'x', value: total(1) }]);
    await until(() => [a, b].every((f) => f.ctx.cache.streams.get('totals')!.offsets[0] === 1), 'applied');
    const ids = await Promise.all(
      [a, b].map(async (f) => (await (await openSse(`${f.url}/v1/stream`, { t })).nextEvent()).id),
    );
    assert.equal(ids[0], ids[1]);
  });
});
