/**
 * The pollers estimate: distinct keys per window in fixed memory, carried over one window,
 * forgotten after two, close to exact for realistic populations.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WindowedDistinctCounter } from '../../gateway/observability/distinct-counter.ts';

test('counts distinct keys, not hits', () => {
  const c = new WindowedDistinctCounter(10_000);
  for (let i = 0; i < 5; i++) for (const k of ['a', 'b', 'c']) c.add(k, 1000 + i);
  assert.equal(c.estimate(2000), 3);
});

test('a window carries over into the next, then is forgotten', () => {
  const c = new WindowedDistinctCounter(10_000);
  for (let i = 0; i < 100; i++) c.add(`client-${i}`, 5000);
  assert.equal(c.estimate(12_000), 100, 'previous window still reported');
  c.add('client-0', 13_000);
  assert.equal(c.estimate(14_000), 100, 'the larger of previous and current');
  assert.equal(c.estimate(25_000), 1, 'two windows later only the recent poll remains');
  assert.equal(c.estimate(40_000), 0);
});

test('estimates large populations within a few percent', () => {
  const c = new WindowedDistinctCounter(10_000);
  for (const n of [1_000, 20_000]) {
    const now = n === 1_000 ? 0 : 100_000;
    for (let i = 0; i < n; i++) c.add(`10.0.${i >> 8}.${i & 255}:${40_000 + (i % 20_000)}`, now);
    const e = c.estimate(now);
    assert.ok(Math.abs(e - n) / n < 0.03, `${n} keys estimated as ${e}`);
  }
});

test('rejects a bitmap size that is not a power of two', () => {
  assert.throws(() => new WindowedDistinctCounter(1000, 1000));
});
