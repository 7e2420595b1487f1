import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LoggedComparison } from '../../legacy-adapter/shadow/mismatch-log.ts';
import { mergeShadowReports, type ShadowRouteView } from '../../legacy-adapter/shadow/report.ts';

function view(match: number, drift: number, lastAt: number | null): ShadowRouteView {
  return {
    match,
    structural: 0,
    drift,
    legacy_error: 0,
    render_error: 0,
    unexplainedDrift: drift,
    skipped: { rate_limited: 1, queue_full: 0, not_ready: 0, not_modified: 0 },
    last: lastAt === null ? null : { at: lastAt, outcome: 'drift', cacheAheadMs: lastAt },
  };
}

const mismatch = (at: number) => ({ route: 'a', at }) as unknown as LoggedComparison;

test('shadow reports of two workers: counts added, the newest last, the newest mismatches first', () => {
  const merged = mergeShadowReports(
    [
      { routes: { a: view(1, 2, 50), b: view(3, 0, null) }, mismatches: [mismatch(40), mismatch(10)] },
      { routes: { a: view(4, 1, 70), b: view(0, 0, null) }, mismatches: [mismatch(30)] },
    ],
    2,
  );
  assert.deepEqual(merged.routes.a, {
    ...view(5, 3, 70),
    skipped: { rate_limited: 2, queue_full: 0, not_ready: 0, not_modified: 0 },
  });
  assert.equal(merged.routes.b?.match, 3);
  assert.equal(merged.routes.b?.last, null);
  assert.deepEqual(
    merged.mismatches.map((m) => m.at),
    [40, 30],
  );
});

test('one report merged is itself', () => {
  const one = { routes: { a: view(1, 0, 5) }, mismatches: [mismatch(5)] };
  assert.deepEqual(mergeShadowReports([one], 10), one);
});
