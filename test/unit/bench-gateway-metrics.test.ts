/** The bench's reading of the gateway's latency legs: quantiles from histogram bucket deltas. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type LatencySums, legQuantileMs } from '../../bench/lib/gateway-metrics.ts';

function sums(ingest: Array<[number, number]>): LatencySums {
  return {
    ingestSum: 0,
    ingestCount: 0,
    deliverySum: 0,
    deliveryCount: 0,
    ingestBuckets: new Map(ingest),
    deliveryBuckets: new Map(),
  };
}

test('legQuantileMs: the bucket bound holding the quantile of what the window added', () => {
  const inf = Number.POSITIVE_INFINITY;
  // Before the window: 1,000 fast observations, which must not count.
  const a = sums([
    [0.005, 1000],
    [0.025, 1000],
    [0.1, 1000],
    [inf, 1000],
  ]);
  // In the window: 90 at <= 5 ms, 8 in (5, 25] ms, 2 in (25, 100] ms.
  const b = sums([
    [0.005, 1090],
    [0.025, 1098],
    [0.1, 1100],
    [inf, 1100],
  ]);
  assert.equal(legQuantileMs(a, b, 'ingest', 0.5), 5);
  assert.equal(legQuantileMs(a, b, 'ingest', 0.95), 25);
  assert.equal(legQuantileMs(a, b, 'ingest', 0.99), 100);
  assert.ok(Number.isNaN(legQuantileMs(a, a, 'ingest', 0.99)), 'nothing observed');
  assert.ok(Number.isNaN(legQuantileMs(null, b, 'ingest', 0.99)), 'no reading');
});
