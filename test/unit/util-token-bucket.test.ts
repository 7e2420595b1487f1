import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenBucket } from '../../gateway/util/token-bucket.ts';

describe('TokenBucket', () => {
  function bucket(perSecond: number, burst: number) {
    const clock = { t: 1_000 };
    return { clock, b: new TokenBucket({ perSecond, burst, now: () => clock.t }) };
  }

  test('starts full, spends the burst, then refills continuously up to the burst', () => {
    const { clock, b } = bucket(2, 3);
    assert.equal(b.available(), 3);
    assert.ok(b.tryTake() && b.tryTake() && b.tryTake());
    assert.equal(b.tryTake(), false);
    clock.t += 250; // half a token
    assert.equal(b.available(), 0.5);
    assert.equal(b.tryTake(), false);
    clock.t += 250;
    assert.equal(b.tryTake(), true);
    clock.t += 60_000;
    assert.equal(b.available(), 3, 'capped at the burst');
  });

  test('a bucket created long before its first use is full, not over-full', () => {
    const { clock, b } = bucket(10, 5);
    clock.t += 3_600_000;
    assert.equal(b.available(), 5);
    assert.equal(b.tryTake(6), false);
  });

  test('msUntil says how long until n tokens, and takes nothing', () => {
    const { clock, b } = bucket(4, 2);
    assert.equal(b.msUntil(), 0);
    b.tryTake(2);
    assert.equal(b.msUntil(), 250);
    assert.equal(b.msUntil(2), 500);
    assert.equal(b.msUntil(), 250, 'asking twice takes nothing');
    clock.t += 100;
    assert.equal(b.msUntil(), 150);
    assert.equal(b.msUntil(3), 650, '2.6 tokens missing at 4/s');
    const third = bucket(3, 1).b;
    third.tryTake();
    assert.equal(third.msUntil(), 334, '333.3 ms rounded up to a whole ms');
  });

  test('tryTake(n) is all or nothing', () => {
    const { b } = bucket(1, 3);
    assert.equal(b.tryTake(4), false);
    assert.equal(b.available(), 3);
    assert.equal(b.tryTake(3), true);
    assert.equal(b.available(), 0);
  });

  test('a clock stepping backwards adds no tokens and takes none', () => {
    const { clock, b } = bucket(1, 2);
    b.tryTake(2);
    clock.t -= 10_000;
    assert.equal(b.available(), 0);
    clock.t += 1_000;
    assert.equal(b.available(), 1, 'refill resumes from the earlier reading');
  });
});
