import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backoffCeiling,
  backoffDelay,
  jitter,
  jitteredRetryMs,
  jitteredSeconds,
} from '../../gateway/util/backoff.ts';

describe('backoff', () => {
  test('the ceiling doubles per attempt up to the cap, and stays finite for huge attempts', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((n) => backoffCeiling(n, 250, 5000)),
      [250, 500, 1000, 2000, 4000, 5000],
    );
    assert.equal(backoffCeiling(10_000, 1, Number.POSITIVE_INFINITY), 2 ** 30);
  });

  test('a delay lies in [floor, ceiling]: the floor is the base unless given', () => {
    assert.equal(
      backoffDelay(3, 250, 5000, () => 0),
      250,
    );
    assert.equal(
      backoffDelay(3, 250, 5000, () => 1),
      2000,
    );
    assert.equal(
      backoffDelay(0, 250, 5000, () => 0.5),
      250,
      'the first attempt waits the base',
    );
    assert.equal(
      backoffDelay(2, 1000, 30_000, () => 0, 500),
      500,
    );
    assert.equal(
      backoffDelay(2, 1000, 30_000, () => 0.5, 500),
      2250,
    );
  });

  test('the cap wins over the floor and the base', () => {
    assert.equal(
      backoffDelay(0, 1000, 300, () => 0),
      300,
    );
    assert.equal(
      backoffDelay(9, 1000, 300, () => 1),
      300,
    );
  });

  test('jitter spreads delays: many clients get many different delays', () => {
    const delays = new Set(
      Array.from({ length: 100 }, (_, i) => backoffDelay(6, 250, 60_000, () => i / 100)),
    );
    assert.ok(delays.size > 90);
  });
});

describe('jitter', () => {
  test('scales by a factor in [low, high)', () => {
    assert.equal(
      jitter(1000, 0.8, 1.2, () => 0),
      800,
    );
    assert.equal(
      jitter(1000, 0.8, 1.2, () => 0.5),
      1000,
    );
    assert.equal(
      jitter(1000, 0.8, 1.2, () => 0.999),
      1200,
    );
  });

  test('retry hints over [0.5, 1.5) x base', () => {
    assert.equal(
      jitteredRetryMs(3000, () => 0),
      1500,
    );
    assert.equal(
      jitteredRetryMs(3000, () => 0.5),
      3000,
    );
    assert.equal(
      jitteredRetryMs(3000, () => 0.9999),
      4500,
    );
  });

  test('Retry-After seconds over [base, 2 x base), never below 1', () => {
    assert.equal(
      jitteredSeconds(2, () => 0),
      2,
    );
    assert.equal(
      jitteredSeconds(2, () => 0.99),
      4,
    );
    assert.equal(
      jitteredSeconds(0, () => 0.5),
      1,
    );
  });
});
