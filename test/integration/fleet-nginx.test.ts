/**
 * Operating a fleet as one (issue 18): two instances with WORKERS=2 each on the real broker,
 * behind the shipped NGINX template. Admin changes sent through NGINX reach all four processes
 * within a second, every process asked directly (each worker names itself in the
 * `X-Switchyard-Worker` header; fresh connections are spread over an instance's workers by
 * node:cluster, so asking until both have answered reaches each); they survive a restart of one
 * instance; a write based on a stale version gets 409; `/metrics` and `/v1/stats/latency` are
 * the sum over an instance's workers.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { after, describe, test } from 'node:test';
import { GatewayProcess, metricValue } from '../helpers/gateway-process.ts';
import { closeKafkaHelpers, createTopic, produce } from '../helpers/kafka.ts';
import { Nginx } from '../helpers/nginx.ts';

const WRITE = 'fleet-write-token-0123456789';
const READ = 'fleet-read-token-0123456789';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request on a fresh connection (so that node:cluster may hand it to any worker). */
function send(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string; ca?: string } = {},
): Promise<Reply> {
  const u = new URL(url);
  const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
    method: opts.method ?? 'GET',
    headers: { ...(opts.body ? { 'content-type': 'application/json' } : {}), ...opts.headers },
    agent: false,
    ca: opts.ca,
    timeout: 10_000,
  });
  return new Promise((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

const read = { authorization: `Bearer ${READ}` };
const write = { authorization: `Bearer ${WRITE}` };

/**
 * Asks `gw` directly, on fresh connections, until each of its `workers` has answered `path` with
 * a body satisfying `ok`; resolves with when each did (ms since `since`). Rejects after `timeoutMs`.
 */
async function everyWorker(
  gw: GatewayProcess,
  workers: number,
  path: string,
  ok: (json: unknown) => boolean,
  since: number,
  timeoutMs = 5000,
): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  const deadline = since + timeoutMs;
  while (seen.size < workers) {
    if (Date.now() > deadline)
      throw new Error(
        `${gw.name}: only ${[...seen.keys()].join(', ') || 'no worker'} applied ${path} in time`,
      );
    const r = await send(`${gw.url}${path}`, { headers: read });
    const who = String(r.headers['x-switchyard-worker']);
    if (r.status === 200 && !seen.has(who) && ok(JSON.parse(r.body))) seen.set(who, Date.now() - since);
  }
  return seen;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON read back from the wire
type Json = any;
const routeMode = (mode: string) => (j: Json) => j.routes?.[0]?.mode === mode;
const rollout = (pred: (r: Json) => boolean) => (j: Json) => pred(j.rules);

describe('a fleet operated as one', { timeout: 240_000 }, () => {
  after(closeKafkaHelpers);

  test('two instances x two workers behind NGINX: admin changes everywhere, one view of the figures', async (t) => {
    const [orders, totals, control] = await Promise.all([
      createTopic('fleet-orders'),
      createTopic('fleet-totals'),
      createTopic('fleet-control', { compacted: true }),
    ]);
    await produce(totals, [{ key: 'FR', value: '{"country":"FR","orders":1,"revenueUsd":1}' }]);
    await produce(orders, [{ key: 'o0', value: '{"id":"o0"}' }]);
    const backend: Server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"legacy":true}');
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => backend.close(() => resolve())));
    const backendPort = (backend.address() as { port: number }).port;

    const env = (instance: string): Record<string, string> => ({
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
      STREAMS: `orders:feed:${orders},totals:table:${totals}`,
      ROLLOUT_TOPIC: control,
      WORKERS: '2',
      ADMIN_TOKEN: WRITE,
      ADMIN_READ_TOKEN: READ,
      LEGACY_URL: `http://127.0.0.1:${backendPort}`,
      LEGACY_ROUTES: 'live-map:/api/live-map.json:proxy',
      SWITCHYARD_INSTANCE: instance,
      SHUTDOWN_DRAIN_MS: '500',
    });
    const [a, b] = await Promise.all([
      GatewayProcess.start({ name: 'a', env: env('a') }),
      GatewayProcess.start({ name: 'b', env: env('b') }),
    ]);
    t.after(() => Promise.all([a.stop(), b.stop()]));
    const nginx = await Nginx.start({ upstreams: [a.port, b.port] });
    t.after(() => nginx.stop());
    const edge = (path: string, opts: Parameters<typeof send>[1] = {}) =>
      send(`${nginx.origin}${path}`, { ...opts, ca: nginx.cert.pem });

    /**
     * When each process applied `version` of `key`, by its own report (same machine, same clock):
     * the probes above confirm the state by asking each worker, but on a loaded test machine their
     * own round trips would dominate a timing taken from outside.
     */
    const appliedWithin = async (version: number, key: 'rules' | 'routes', from: number): Promise<void> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const v = JSON.parse((await edge('/v1/admin/fleet', { headers: read })).body) as {
          processes: Array<{ process: string; versions: Record<string, number>; at: number }>;
        };
        const done = v.processes.filter((p) => p.versions[key]! >= version);
        if (done.length >= 4) {
          for (const p of done)
            assert.ok(p.at - from < 1000, `${p.process} applied ${key} v${version} after ${p.at - from} ms`);
          return;
        }
        assert.ok(
          Date.now() < deadline,
          `not every process reported ${key} v${version}: ${JSON.stringify(v)}`,
        );
      }
    };

    // A route change through NGINX: in force on all four processes within a second.
    let since = Date.now();
    const put = await edge('/v1/admin/routes/live-map', {
      method: 'PUT',
      headers: write,
      body: '{"mode":"shadow","sampleRate":1}',
    });
    assert.equal(put.status, 200, put.body);
    for (const gw of [a, b]) await everyWorker(gw, 2, '/v1/admin/routes', routeMode('shadow'), since);
    await appliedWithin(JSON.parse(put.body).version, 'routes', since);

    // A rollout change through NGINX (PATCH: the allow list stays), same.
    assert.equal(
      (
        await edge('/v1/admin/rollout', {
          method: 'PUT',
          headers: write,
          body: '{"percent":1,"allow":["vip"]}',
        })
      ).status,
      200,
    );
    since = Date.now();
    const patch = await edge('/v1/admin/rollout', { method: 'PATCH', headers: write, body: '{"percent":5}' });
    assert.equal(patch.status, 200, patch.body);
    const stepped = rollout((r) => r.percent === 5 && r.allow.includes('vip'));
    for (const gw of [a, b]) await everyWorker(gw, 2, '/v1/admin/rollout', stepped, since);
    await appliedWithin(JSON.parse(patch.body).version, 'rules', since);

    // Concurrent writers from the same version: exactly one wins, the other gets 409.
    const current = await edge('/v1/admin/rollout', { headers: read });
    const etag = String(current.headers.etag);
    const racers = await Promise.all(
      [10, 20].map((percent) =>
        edge('/v1/admin/rollout', {
          method: 'PATCH',
          headers: { ...write, 'if-match': etag },
          body: JSON.stringify({ percent }),
        }),
      ),
    );
    assert.deepEqual(racers.map((r) => r.status).sort(), [200, 409], racers.map((r) => r.body).join('\n'));
    const winner = JSON.parse(racers.find((r) => r.status === 200)!.body).rules.percent as number;
    const stale = await edge('/v1/admin/rollout', {
      method: 'PATCH',
      headers: { ...write, 'if-match': etag },
      body: '{"percent":50}',
    });
    assert.equal(stale.status, 409);
    assert.equal(JSON.parse(stale.body).error.code, 'VERSION_CONFLICT');

    // The fleet view names every process and the versions it applied.
    const fleetView = async (): Promise<Json> =>
      JSON.parse((await edge('/v1/admin/fleet', { headers: read })).body);
    const converged = async (): Promise<Json> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const v = await fleetView();
        if (v.converged && v.processes.length >= 4) return v;
        if (Date.now() > deadline) throw new Error(`fleet not converged: ${JSON.stringify(v)}`);
      }
    };
    const view = await converged();
    assert.deepEqual(view.processes.map((p: Json) => p.process).sort(), ['a/1', 'a/2', 'b/1', 'b/2']);

    // One instance restarted: its workers come back with the fleet state from the topic.
    await b.kill('SIGTERM');
    await b.restart();
    since = Date.now();
    await everyWorker(b, 2, '/v1/admin/routes', routeMode('shadow'), since, 20_000);
    await everyWorker(
      b,
      2,
      '/v1/admin/rollout',
      rollout((r) => r.percent === winner && r.allow.includes('vip')),
      since,
      20_000,
    );

    // Figures: every worker consumed every record, so each instance's sum is 2 x the records.
    const records = 20;
    await produce(
      orders,
      Array.from({ length: records }, (_, i) => ({ key: `o${i + 1}`, value: `{"id":"o${i + 1}"}` })),
    );
    const applied = (text: string) =>
      metricValue(text, 'switchyard_records_applied_total', { stream: 'orders' });
    for (const gw of [a, b]) {
      const deadline = Date.now() + 10_000;
      let text = await gw.metricsText();
      while (applied(text) < 2 * (records + 1) && Date.now() < deadline) text = await gw.metricsText();
      assert.equal(applied(text), 2 * (records + 1), `${gw.name}: both workers' records in one /metrics`);
      // Any worker answers the same sum (asked several times on fresh connections).
      const answers = new Set<number>();
      const workers = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const r = await send(`${gw.url}/metrics`);
        workers.add(String(r.headers['x-switchyard-worker']));
        answers.add(applied(r.body));
      }
      assert.equal(workers.size, 2, 'both workers were asked');
      assert.deepEqual([...answers], [2 * (records + 1)]);
      assert.equal(
        metricValue(text, 'switchyard_rollout_percent'),
        winner,
        'a gauge of fleet state is not summed',
      );
      // /v1/stats/latency: the same histograms, summed.
      const stats = JSON.parse((await send(`${gw.url}/v1/stats/latency`)).body) as Json;
      const ingestCount = metricValue(text, 'switchyard_ingest_latency_seconds_count');
      assert.equal(stats.total.ingest.count, ingestCount);
      assert.equal(stats.workers, 2);
    }
  });
});
