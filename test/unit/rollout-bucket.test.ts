/**
 * Sticky rollout buckets: stable for an id, uniform over ids, and monotonic in the percentage
 * (raising it never moves a streaming client back to polling).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BUCKETS, bucketOf, inRollout } from '../../gateway/rollout/bucket.ts';
import { decide } from '../../gateway/rollout/decide.ts';
import { compileRules, defaultRules } from '../../gateway/rollout/rules.ts';

const ids = (n: number, prefix = 'client-'): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('rollout buckets', () => {
  test('are stable: same id, same bucket, on every call (and every instance)', () => {
    for (const id of ['a', 'user-42', '0f8c1a2e-5b7d-4c1e-9a3f-2d6b8e0c4a11', 'x'.repeat(128)]) {
      const b = bucketOf(id);
      assert.ok(Number.isInteger(b) && b >= 0 && b < BUCKETS, `${b} in range`);
      assert.equal(bucketOf(id), b);
    }
    // Pinned values: a change of hash would silently reshuffle every client in production.
    assert.deepEqual(['alice', 'bob', 'user-42'].map(bucketOf), [586, 4336, 9261]);
  });

  test('are uniform within a few percent over 100k ids', () => {
    const n = 100_000;
    const buckets = ids(n).map(bucketOf);
    const deciles = new Array<number>(10).fill(0);
    for (const b of buckets) deciles[Math.floor(b / (BUCKETS / 10))]!++;
    for (const [i, count] of deciles.entries()) {
      const share = count / n;
      assert.ok(Math.abs(share - 0.1) < 0.005, `decile ${i} holds ${(share * 100).toFixed(2)} % of ids`);
    }
    // And a percentage sends that share of clients to SSE.
    for (const percent of [1, 5, 25, 50, 90]) {
      const streaming = buckets.filter((b) => inRollout(b, percent)).length / n;
      assert.ok(
        Math.abs(streaming - percent / 100) < 0.005,
        `${percent} % -> ${(streaming * 100).toFixed(2)} %`,
      );
    }
  });

  test('are monotonic: raising the percentage only adds streaming clients', () => {
    const sample = ids(20_000, 'm-');
    const bucket = new Map(sample.map((id) => [id, bucketOf(id)]));
    const steps = [0, 0.01, 1, 5, 10, 33.33, 50, 75, 99.99, 100];
    let previous = new Set<string>();
    for (const percent of steps) {
      const rules = compileRules(defaultRules(percent), 1, null);
      const streaming = new Set(sample.filter((id) => decide(rules, id, bucket.get(id)).transport === 'sse'));
      for (const id of previous)
        assert.ok(streaming.has(id), `${id} streamed below ${percent} % but not at it`);
      assert.ok(streaming.size >= previous.size);
      previous = streaming;
    }
    assert.equal(previous.size, sample.length, '100 % streams everyone');
    const none = compileRules(defaultRules(0), 1, null);
    assert.ok(
      sample.every((id) => decide(none, id, bucket.get(id)).transport === 'poll'),
      '0 % streams no one',
    );
  });
});
