/**
 * Quantiles from bucket counts, as PromQL's histogram_quantile computes them (so the /compare
 * page and a Grafana panel agree), and /v1/stats/latency's recent window over snapshots.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatencyStats } from '../../gateway/observability/latency-stats.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { histogramQuantile, readBuckets } from '../../gateway/observability/quantiles.ts';

const series = (bounds: number[], cumulative: number[]) => ({ bounds, cumulative, sum: 0 });

test('histogramQuantile interpolates inside the bucket like PromQL', () => {
  // 10 in (0, 1], 10 in (1, 2], none above: rank 10 sits at the top of the first bucket.
  const s = series([1, 2, 5], [10, 20, 20, 20]);
  assert.equal(histogramQuantile(0.5, s), 1);
  assert.equal(histogramQuantile(0.25, s), 0.5);
  assert.equal(histogramQuantile(0.75, s), 1.5);
  assert.equal(histogramQuantile(1, s), 5);
  assert.equal(histogramQuantile(0, s), 0);
  // A rank in +Inf is answered with the highest finite bound.
  assert.equal(histogramQuantile(0.99, series([1, 2], [1, 1, 10])), 2);
  // Empty: no figure rather than a made-up one.
  assert.equal(histogramQuantile(0.5, series([1, 2], [0, 0, 0])), null);
});

test('readBuckets reads prom-client histograms as cumulative series, grouped', async () => {
  const m = new GatewayMetrics({ defaultMetrics: false });
  m.ingestLatency.observe({ stream: 'a' }, 0.003);
  m.ingestLatency.observe({ stream: 'b' }, 0.02);
  m.ingestLatency.observe({ stream: 'b' }, 100);
  const all = (await readBuckets(m.ingestLatency, () => 'all')).get('all')!;
  assert.equal(all.cumulative.length, all.bounds.length + 1);
  assert.equal(all.cumulative[all.bounds.indexOf(0.005)], 1);
  assert.equal(all.cumulative[all.bounds.indexOf(0.025)], 2);
  assert.equal(all.cumulative[all.cumulative.length - 1], 3);
  assert.ok(Math.abs(all.sum - 100.023) < 1e-9);
  const byStream = await readBuckets(m.ingestLatency, (l) => (l.stream === 'a' ? 'a' : null));
  assert.deepEqual([...byStream.keys()], ['a']);
});

test('LatencyStats: since start, then over the last window once it has a snapshot that old', async () => {
  const m = new GatewayMetrics({ defaultMetrics: false });
  let now = 1_000_000;
  const stats = new LatencyStats(m, () => now, 60_000);
  for (let i = 0; i < 10; i++) m.deliveryLatency.observe({ transport: 'poll' }, 5);
  m.deliveryLatency.observe({ transport: 'sse' }, 0.002);

  const first = await stats.summary();
  assert.equal(first.windowSeconds, null, 'no snapshot old enough yet: since start');
  assert.equal(first.recent.poll.count, 10);
  assert.equal(first.total.poll.count, 10);
  assert.ok(first.recent.poll.p50! > 3 && first.recent.poll.p50! <= 5);
  assert.ok(first.recent.sse.p50! <= 0.0025);
  assert.equal(first.recent.clientPoll.count, 0);
  assert.equal(first.recent.clientPoll.p50, null);

  // A minute later, only what happened since that first snapshot is recent.
  now += 61_000;
  m.deliveryLatency.observe({ transport: 'poll' }, 0.5);
  const later = await stats.summary();
  assert.equal(later.windowSeconds, 61);
  assert.equal(later.recent.poll.count, 1);
  assert.ok(later.recent.poll.p99! <= 0.5);
  assert.equal(later.total.poll.count, 11);
  assert.equal(later.recent.sse.count, 0);
  assert.equal(later.recent.sse.p50, null);
});
