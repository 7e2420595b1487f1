/**
 * With WORKERS > 1 the primary aggregates the workers' series (prom-client's AggregatorRegistry,
 * each metric's `aggregator`): counters are summed, `switchyard_ready` is 1 only if every
 * worker is ready. (The `min` of readiness once sat on the transport decisions counter, which
 * then showed one worker's count and a ready instance as 2.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AggregatorRegistry } from 'prom-client';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { promRolloutEvents } from '../../gateway/observability/rollout-events.ts';

async function aggregate(workers: GatewayMetrics[]): Promise<(line: string) => number> {
  const parts = await Promise.all(workers.map((w) => w.registry.getMetricsAsJSON()));
  const text = await AggregatorRegistry.aggregate(parts).metrics();
  return (prefix) => {
    const line = text.split('\n').find((l) => l.startsWith(`${prefix} `));
    assert.ok(line, `${prefix} in ${text.slice(0, 200)}`);
    return Number(line.split(' ').at(-1));
  };
}

test('transport decisions are summed over workers; ready is 1 only when every worker is', async () => {
  const workers = [0, 1].map(() => new GatewayMetrics({ defaultMetrics: false }));
  for (const [i, w] of workers.entries()) {
    const events = promRolloutEvents(w);
    for (let n = 0; n <= i; n++) events.decided('sse', 'rollout');
    w.ready.set(1);
  }
  let value = await aggregate(workers);
  assert.equal(value('switchyard_transport_decisions_total{transport="sse",reason="rollout"}'), 3);
  assert.equal(value('switchyard_ready'), 1);
  workers[1]!.ready.set(0);
  value = await aggregate(workers);
  assert.equal(value('switchyard_ready'), 0);
});
