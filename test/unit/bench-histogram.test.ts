import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUCKETS, bucketHigh, bucketLow, bucketOf, Histogram } from '../../bench/lib/histogram.ts';

describe('bench Histogram', () => {
  it('buckets are contiguous, exact below 128 and within 1.6% above', () => {
    for (let i = 0; i + 1 < BUCKETS; i++) assert.equal(bucketHigh(i) + 1, bucketLow(i + 1), `bucket ${i}`);
    for (const v of [0, 1, 127, 128, 129, 255, 256, 1000, 12_345, 999_999, 2 ** 26 - 1]) {
      const b = bucketOf(v);
      assert.ok(bucketLow(b) <= v && v <= bucketHigh(b), `${v} in bucket ${b}`);
      assert.ok((bucketHigh(b) - bucketLow(b)) / Math.max(1, v) < 0.016, `${v} precision`);
    }
    assert.equal(bucketOf(2 ** 30), BUCKETS - 1);
    assert.equal(bucketOf(-5), 0);
  });

  it('quantiles of a uniform 1..1000 ms sample, and merging sparse halves', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let v = 1; v <= 1000; v++) (v % 2 ? a : b).record(v);
    const m = new Histogram();
    m.addSparse(a.toSparse());
    m.addSparse(b.toSparse());
    assert.equal(m.total, 1000);
    assert.equal(m.max, 1000);
    assert.ok(Math.abs(m.quantile(0.5) - 500) <= 8, `p50 ${m.quantile(0.5)}`);
    assert.ok(m.quantile(0.99) >= 990 && m.quantile(0.99) <= 1000, `p99 ${m.quantile(0.99)}`);
    assert.ok(Number.isNaN(new Histogram().quantile(0.5)));
  });
});
