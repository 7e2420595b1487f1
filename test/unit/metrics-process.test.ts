/**
 * Process metrics come out under prom-client's standard names, and the event loop's delay is
 * exported once: as the gateway's own `switchyard_event_loop_lag_seconds`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createGateway, stopGateway } from '../../gateway/gateway.ts';
import { createApp } from '../../gateway/http/app.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { loadConfig } from '../../gateway/switchyard.ts';

test('process metrics use the standard names; one event-loop delay metric', async (t) => {
  const metrics = new GatewayMetrics();
  const ctx = createGateway(loadConfig({ LOG_LEVEL: 'silent' }), { metrics });
  t.after(() => stopGateway(ctx));
  createApp(ctx);
  const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
  for (const standard of [
    'process_cpu_user_seconds_total',
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'process_open_fds',
    'nodejs_heap_size_used_bytes',
  ])
    assert.ok(names.includes(standard), `${standard} is exported`);
  assert.deepEqual(
    names.filter((n) => n.startsWith('switchyard_process_')),
    [],
    'no prefixed process metrics',
  );
  assert.deepEqual(
    names.filter((n) => /event_?loop_?lag/.test(n)),
    ['switchyard_event_loop_lag_seconds'],
  );
  // The rendered text agrees with the registry (no stale series from a removed collector).
  const text = await metrics.render();
  assert.doesNotMatch(text, /^nodejs_eventloop_lag/m);
  assert.match(text, /^process_cpu_user_seconds_total \d/m);
});
