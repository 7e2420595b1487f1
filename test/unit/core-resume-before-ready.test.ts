/**
 * A stream opened on an instance that has not bootstrapped yet (a restart behind a client that
 * reconnects at once) is held until the instance is ready; its Last-Event-ID must then be read
 * against the lineage the source identified, not the unknown one of before the bootstrap, or a
 * resumable client resyncs (issue 17, found by the EventSource suite's scenario c under load).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startGateway } from '../../gateway/switchyard.ts';
import { openSse } from '../helpers/sse-client.ts';
import { startFixture, total, until } from './core-fixture.ts';

const seed = (n: number) => [...Array(n).keys()].map((i) => ({ key: `k${i}`, value: total(i) }));

test('an id held until readiness resumes once the source names the same lineage', async (t) => {
  // A long-running instance hands out the id.
  const a = await startFixture(t, { seed: (s) => s.produce('topic.totals', seed(3)) });
  await until(() => a.ctx.cache.isReady(), 'a ready');
  const first = await openSse(`${a.url}/v1/stream?streams=totals`, { t });
  const id = (await first.nextEvent()).id!;
  // A restarted instance: same data (same lineage), two more records, not started yet.
  const b = await startFixture(t, { start: false, seed: (s) => s.produce('topic.totals', seed(5)) });
  const held = await openSse(`${b.url}/v1/stream?streams=totals`, { t, headers: { 'last-event-id': id } });
  await startGateway(b.ctx);
  const ev = await held.nextEvent();
  assert.equal(ev.event, 'update', `replayed, not resynced (${ev.data.slice(0, 80)})`);
});
