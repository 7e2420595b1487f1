/**
 * Issue 16: `/v1/stats/latency` is computed as `/metrics` is rendered, at most once per
 * RENDER_INTERVAL_MS past a burst of RENDER_BURST, and shared by the requests meanwhile: a flood
 * of requests (concurrent or back to back) costs a bounded number of summaries (each one, with
 * WORKERS > 1, a round of IPC to every worker), and every answer is a whole, valid summary.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RENDER_BURST, RENDER_INTERVAL_MS } from '../../gateway/observability/metrics-route.ts';
import { get, metricsFixture } from './metrics-fixture.ts';

test('/v1/stats/latency: computed at most once per interval past the burst, shared by every request', async (t) => {
  const f = await metricsFixture(t);
  let computed = 0;
  const latency = f.ctx.figures.latency.bind(f.ctx.figures);
  f.ctx.figures.latency = () => {
    computed++;
    return latency();
  };
  const started = performance.now();
  const answers = await Promise.all(Array.from({ length: 40 }, () => get(`${f.url}/v1/stats/latency`)));
  for (let i = 0; i < 40; i++) answers.push(await get(`${f.url}/v1/stats/latency`));
  const elapsed = performance.now() - started;
  for (const a of answers) {
    assert.equal(a.status, 200);
    assert.match(String(a.headers['content-type']), /^application\/json/);
    assert.equal(a.headers['cache-control'], 'no-store');
    const body = JSON.parse(a.text) as { pollIntervalMs: number; workers: number };
    assert.equal(body.pollIntervalMs, 10_000);
    assert.equal(body.workers, 1);
  }
  const bound = RENDER_BURST + Math.ceil(elapsed / RENDER_INTERVAL_MS) + 1;
  assert.ok(
    computed <= bound,
    `${computed} summaries for 80 requests in ${Math.round(elapsed)} ms (bound ${bound})`,
  );
  assert.ok(computed >= 1);
});
