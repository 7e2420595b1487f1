/**
 * The embedded demo (no Kafka) with WORKERS=2: the fleet state runs on the same code through
 * the cluster primary, which keeps the log and relays each change to both workers; a worker
 * the primary replaces gets the state replayed; /metrics is the sum of both workers.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getFromAWorker as get, putLiveMapRoute, startTwoWorkerDemo } from '../helpers/demo-workers.ts';
import type { GatewayProcess } from '../helpers/gateway-process.ts';

/** Asks until both workers have answered `path` with a body satisfying `ok`. */
async function bothWorkers(
  gw: GatewayProcess,
  path: string,
  ok: (body: string) => boolean,
): Promise<Set<string>> {
  const seen = new Set<string>();
  const deadline = Date.now() + 10_000;
  while (seen.size < 2) {
    assert.ok(Date.now() < deadline, `only ${[...seen].join(', ') || 'none'} answered ${path} as expected`);
    const r = await get(`${gw.url}${path}`);
    if (r.status === 200 && ok(r.body)) seen.add(r.worker);
  }
  return seen;
}

test('demo with two workers: the primary relays the fleet state and sums the figures', {
  timeout: 120_000,
}, async (t) => {
  const gw = await startTwoWorkerDemo(t, 'demo-workers');
  await putLiveMapRoute(gw, '{"mode":"shadow"}');
  const workers = await bothWorkers(gw, '/v1/admin/routes', (b) => JSON.parse(b).routes[0].mode === 'shadow');
  assert.deepEqual([...workers].sort(), ['demo/1', 'demo/2']);

  const view = JSON.parse((await get(`${gw.url}/v1/admin/fleet`)).body);
  assert.equal(view.transport, 'cluster');
  // Both workers count their own requests; /metrics answers with the sum whichever worker takes it.
  const count = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('switchyard_http_requests_total{') && l.includes('endpoint="admin"'))
      .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
  const a = await get(`${gw.url}/metrics`);
  const b = await get(`${gw.url}/metrics`);
  assert.notEqual(a.worker, b.worker, 'asked both workers');
  assert.equal(count(a.body), count(b.body), 'the same sum from either worker');
  assert.ok(count(a.body) >= 4, `admin requests of both workers counted: ${count(a.body)}`);
});
