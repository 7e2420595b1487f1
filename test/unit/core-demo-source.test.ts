/**
 * The embedded demo feed runs for days: its in-memory log stays bounded while offsets go on
 * (issue 16: it kept every record, 154 -> 222 MB of live heap in 64 s at DEMO_RATE=2000).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_RETAIN, DemoSource } from '../../gateway/source/demo-source.ts';
import { MemorySource } from '../../gateway/source/memory-source.ts';
import type { RecordSink, SourceRecord } from '../../gateway/source/types.ts';
import { loadConfig } from '../../gateway/switchyard.ts';

function countingSink(): RecordSink & { applied: number; last: number } {
  const sink = {
    applied: 0,
    last: -1,
    plan() {},
    apply(_topic: string, _partition: number, records: readonly SourceRecord[]) {
      sink.applied += records.length;
      sink.last = records[records.length - 1]!.offset;
    },
    lineage() {},
    nextOffset: () => undefined,
  };
  return sink;
}

test('the demo feed keeps a bounded log while its offsets go on', async (t) => {
  const config = loadConfig({ LOG_LEVEL: 'silent', DEMO_RATE: '100000' });
  const demo = new DemoSource(config.streams, config.demoRate);
  t.after(() => demo.stop());
  const sink = countingSink();
  await demo.start(sink);
  while (sink.applied < 8 * DEMO_RETAIN) await sleep(20);
  // Two partitions (orders, totals), each trimmed back to DEMO_RETAIN when it reaches twice that.
  assert.ok(demo.retained < 2 * 2 * DEMO_RETAIN, `${demo.retained} records retained`);
  const hw = [...demo.status().highWatermarks.values()];
  assert.ok(Math.min(...hw) >= 4 * DEMO_RETAIN, `high-water marks ${hw} go on past the trimmed records`);
});

test('a trimmed memory log restarts from its oldest retained offset', async () => {
  const config = loadConfig({ LOG_LEVEL: 'silent', STREAMS: 'f:feed:t.f,k:table:t.k' });
  const mem = new MemorySource({ streams: config.streams, retain: 10 });
  for (let i = 0; i < 25; i++) mem.produce('t.k', [{ key: `k${i}`, value: '{}' }]);
  assert.equal(mem.retained, 15);
  const plans: Array<{ startOffset: number; highWatermark: number }> = [];
  const sink = countingSink();
  sink.plan = (p) => {
    plans.push(p);
  };
  await mem.start(sink);
  assert.deepEqual(
    plans.map((p) => [p.startOffset, p.highWatermark]),
    [
      [0, 0],
      [10, 25],
    ],
  );
  assert.equal(sink.applied, 15);
});
