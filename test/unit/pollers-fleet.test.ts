/**
 * Issue 18: `switchyard_pollers` over the workers of an instance counts clients, not
 * client-worker pairs. Each worker sees the clients whose connections node:cluster gave it; a
 * client polling over several connections reaches several workers. The primary merges the
 * workers' distinct-counter windows instead of summing their estimates.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AggregatorRegistry } from 'prom-client';
import { mergePollers } from '../../gateway/fleet/cluster-ipc.ts';
import { estimateUnion, WindowedDistinctCounter } from '../../gateway/observability/distinct-counter.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';

const WINDOW = 10_000;

test('the union of two workers counters counts a client seen by both once', () => {
  const now = 1_800_000_000_000;
  const a = new WindowedDistinctCounter(WINDOW);
  const b = new WindowedDistinctCounter(WINDOW);
  // 1,000 clients, every one polls both workers; 500 more only worker b.
  for (let i = 0; i < 1000; i++) {
    a.add(`client-${i}`, now);
    b.add(`client-${i}`, now);
  }
  for (let i = 1000; i < 1500; i++) b.add(`client-${i}`, now);
  assert.ok(Math.abs(a.estimate(now) + b.estimate(now) - 2500) < 50, 'the sum counts pairs');
  const union = estimateUnion([a.sketch(now), b.sketch(now)]);
  assert.ok(Math.abs(union - 1500) <= 15, `union ${union} ~ 1500`);
  // A worker answering just after a window boundary: its previous window is the others' current.
  const later = now + WINDOW;
  const c = new WindowedDistinctCounter(WINDOW);
  for (let i = 0; i < 300; i++) c.add(`late-${i}`, later);
  assert.ok(Math.abs(estimateUnion([a.sketch(now), c.sketch(later)]) - 1000) <= 10);
  assert.equal(estimateUnion([]), 0);
});

test('the primary aggregates switchyard_pollers as the union, the other figures as before', async () => {
  const now = 1_800_000_000_000;
  const workers = [0, 1].map(() => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const counter = new WindowedDistinctCounter(WINDOW);
    return { metrics, counter };
  });
  for (let i = 0; i < 200; i++) for (const w of workers) w.counter.add(`client-${i}`, now);
  const parts = await Promise.all(
    workers.map(async (w) => {
      w.metrics.pollers.set(w.counter.estimate(now));
      w.metrics.sseConnections.set(3);
      return { metrics: await w.metrics.registry.getMetricsAsJSON(), pollers: w.counter.sketch(now) };
    }),
  );
  const text = await AggregatorRegistry.aggregate(mergePollers(parts)).metrics();
  const value = (name: string) =>
    Number(
      text
        .split('\n')
        .find((l) => l.startsWith(`${name} `))
        ?.split(' ')[1],
    );
  assert.ok(
    Math.abs(value('switchyard_pollers') - 200) <= 3,
    `pollers ${value('switchyard_pollers')} ~ 200, not 400`,
  );
  assert.equal(value('switchyard_sse_connections'), 6, 'other gauges still summed');
  // Without sketches (a worker of an older version) the values are summed as before.
  const old = await AggregatorRegistry.aggregate(
    mergePollers(parts.map((p) => ({ ...p, pollers: null }))),
  ).metrics();
  assert.ok(
    Number(
      old
        .split('\n')
        .find((l) => l.startsWith('switchyard_pollers '))
        ?.split(' ')[1],
    ) > 390,
  );
});
