/**
 * The embedded demo with WORKERS=2: shadow comparisons run on whichever worker took the legacy
 * request, and `GET /v1/admin/shadow` (and the `shadow` counts of `/v1/admin/routes`) answer
 * with the counts of both workers, whichever worker is asked (issue 18).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getFromAWorker as get, putLiveMapRoute, startTwoWorkerDemo } from '../helpers/demo-workers.ts';

/** Legacy requests sent; below LEGACY_SHADOW_MAX_PER_SECOND's default (20) per worker. */
const REQUESTS = 12;

type RouteStats = Record<string, number> & { skipped: Record<string, number> };

/** Comparisons and skipped samples of one route's shadow statistics. */
function sampled(s: RouteStats): number {
  const outcomes = ['match', 'structural', 'drift', 'legacy_error', 'render_error'];
  return outcomes.reduce((n, o) => n + (s[o] ?? 0), 0) + Object.values(s.skipped).reduce((n, v) => n + v, 0);
}

/** The fleet's count of comparisons and skipped samples, from /metrics (summed by the primary). */
function sampledInMetrics(text: string): number {
  return text
    .split('\n')
    .filter(
      (l) =>
        (l.startsWith('switchyard_legacy_shadow_comparisons_total{') ||
          l.startsWith('switchyard_legacy_shadow_skipped_total{')) &&
        l.includes('route="live-map"'),
    )
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

test('demo with two workers: /v1/admin/shadow counts the comparisons of both workers', {
  timeout: 120_000,
}, async (t) => {
  const gw = await startTwoWorkerDemo(t, 'demo-workers-shadow');
  await putLiveMapRoute(gw, '{"mode":"shadow","sampleRate":1}');
  // Both workers apply the change before any legacy request is sent (the fleet state's promise).
  const applied = new Set<string>();
  for (let tries = 0; applied.size < 2; tries++) {
    assert.ok(tries < 200, `the shadow mode reached only ${[...applied].join(', ') || 'none'}`);
    const r = await get(`${gw.url}/v1/admin/routes`);
    if (JSON.parse(r.body).routes[0].mode === 'shadow') applied.add(r.worker);
  }

  // node:cluster deals the connections to the workers in turn, so both run comparisons. Whatever
  // the split, a worker answering with its own counts alone fails below: one has fewer than all.
  for (let i = 0; i < REQUESTS; i++) assert.equal((await get(`${gw.url}/api/live-map.json`)).status, 200);

  // Every request is sampled (compared or skipped) once its response is finished; /metrics is
  // already the fleet's sum, so it says when all of them are counted.
  for (let tries = 0; ; tries++) {
    const total = sampledInMetrics((await get(`${gw.url}/metrics`)).body);
    if (total === REQUESTS) break;
    assert.ok(tries < 200 && total < REQUESTS, `${total} of ${REQUESTS} samples counted in /metrics`);
  }

  // Ask until both workers have answered: each must give the fleet's count, not its own share.
  const fromEachWorker = async (path: string, count: (body: string) => number) => {
    const answered = new Map<string, number>();
    for (let tries = 0; answered.size < 2; tries++) {
      assert.ok(tries < 20, `only ${[...answered.keys()].join(', ')} answered ${path}`);
      const r = await get(`${gw.url}${path}`);
      assert.equal(r.status, 200, r.body);
      answered.set(r.worker, count(r.body));
    }
    return Object.fromEntries(answered);
  };
  const all = { 'demo/1': REQUESTS, 'demo/2': REQUESTS };
  assert.deepEqual(
    await fromEachWorker('/v1/admin/shadow', (b) => sampled(JSON.parse(b).routes['live-map'])),
    all,
  );
  assert.deepEqual(await fromEachWorker('/v1/admin/shadow', (b) => JSON.parse(b).workers), {
    'demo/1': 2,
    'demo/2': 2,
  });
  assert.deepEqual(
    await fromEachWorker('/v1/admin/routes', (b) => sampled(JSON.parse(b).routes[0].shadow)),
    all,
  );
});
