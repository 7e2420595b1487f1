/**
 * docs/observability.md documents every metric the gateway registers, and the Grafana dashboard
 * queries only metrics that exist: neither drifts from the code unnoticed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createApp } from '../../gateway/http/app.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { collectProcessMetrics } from '../../gateway/observability/process-metrics.ts';
import { createGateway, loadConfig, stopGateway } from '../../gateway/switchyard.ts';

const DOCS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs');

async function registeredMetrics(t: { after(fn: () => unknown): void }): Promise<Set<string>> {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const ctx = createGateway(loadConfig({ LOG_LEVEL: 'silent' }), { metrics });
  t.after(() => stopGateway(ctx));
  createApp(ctx);
  const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
  return new Set(names.filter((n) => n.startsWith('switchyard_')));
}

test('every registered metric is documented in docs/observability.md', async (t) => {
  const doc = readFileSync(join(DOCS, 'observability.md'), 'utf8');
  const names = await registeredMetrics(t);
  assert.ok(names.size >= 18);
  const missing = [...names].filter((n) => !doc.includes(`\`${n}\``));
  assert.deepEqual(missing, [], 'metrics missing from docs/observability.md');
});

test('the Grafana dashboard is valid JSON and queries only existing metrics', async (t) => {
  const dash = JSON.parse(readFileSync(join(DOCS, 'grafana-dashboard.json'), 'utf8')) as {
    title: string;
    uid: string;
    templating: { list: Array<{ name: string }> };
    panels: Array<{ type: string; title: string; targets?: Array<{ expr: string }> }>;
  };
  assert.ok(dash.title && dash.uid);
  assert.deepEqual(
    dash.templating.list.map((v) => v.name),
    ['datasource', 'job', 'instance'],
  );
  const names = await registeredMetrics(t);
  const processRegistry = new Registry();
  collectProcessMetrics(processRegistry);
  const processNames = new Set((await processRegistry.getMetricsAsJSON()).map((m) => m.name));
  const queries = dash.panels.filter((p) => p.type !== 'row');
  assert.ok(queries.length >= 12);
  for (const p of queries) {
    assert.ok((p.targets?.length ?? 0) > 0, `${p.title}: has queries`);
    for (const { expr } of p.targets ?? []) {
      for (const [ref] of expr.matchAll(/switchyard_[a-z_]+/g)) {
        const family = ref.replace(/_(bucket|sum|count)$/, '');
        assert.ok(names.has(family), `${p.title}: ${ref} is not a metric`);
      }
      for (const [ref] of expr.matchAll(/\b(?:process|nodejs)_[a-z_]+/g))
        assert.ok(processNames.has(ref), `${p.title}: ${ref} is not a process metric`);
    }
  }
  // The same panels as /compare: latency per transport as p50/p95/p99 over the buckets.
  const exprs = queries.flatMap((p) => p.targets ?? []).map((x) => x.expr);
  for (const q of ['0.5', '0.95', '0.99'])
    assert.ok(
      exprs.some((e) =>
        e.startsWith(`histogram_quantile(${q}, sum by (le, transport) (rate(switchyard_delivery_latency`),
      ),
      `p${q} per transport`,
    );
  // What the migration guide tells operators to watch has panels.
  for (const metric of [
    'switchyard_legacy_shadow_comparisons_total',
    'switchyard_transport_decisions_total',
    'switchyard_legacy_route_mode',
    'switchyard_legacy_responses_total',
  ])
    assert.ok(
      exprs.some((e) => e.includes(metric)),
      `a panel for ${metric}`,
    );
  // No unused inputs: every input the import asks for is referenced.
  const text = JSON.stringify(dash);
  for (const input of (dash as { __inputs?: Array<{ name: string }> }).__inputs ?? [])
    assert.ok(text.split(`\${${input.name}}`).length > 1, `input ${input.name} is used`);
  assert.match(readFileSync(join(DOCS, 'prometheus.yml'), 'utf8'), /metrics_path: \/metrics/);
});
