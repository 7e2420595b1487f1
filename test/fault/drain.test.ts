/**
 * Fault: graceful shutdown under load. One instance is SIGTERMed (and restarted), then both are
 * restarted in turn, as a rolling deployment does, while a producer writes numbered records and
 * 300 clients stream and 10 poll through NGINX. For each drain:
 * - `/readyz` answers 503 at once and a new stream is refused with 503 SHUTTING_DOWN + Retry-After;
 * - the instance's streams are closed gradually over the drain window (not all at once), so the
 *   reconnects onto the other instance spread out: in no 100 ms do more than
 *   RECONNECT_PEAK_SHARE of the drained clients reconnect;
 * - the process exits with code 0 within SHUTDOWN_DRAIN_MS (+ process exit slack).
 * At the end every client saw every update exactly once, in order, with no resync, and holds the
 * producer's ground truth; no poll failed.
 */
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type GatewayProcess, metricValue } from '../helpers/gateway-process.ts';
import { type Fleet, peakPerBucket, waitFor } from './fleet.ts';
import { FAULT_ENV, scenarioPerSuite } from './scenario.ts';

const CLIENTS = 300;
const DRAIN_MS = Number(FAULT_ENV.SHUTDOWN_DRAIN_MS);
/**
 * Bound on reconnects in any 100 ms, as a share of the clients drained (docs/deploy/README.md),
 * counted when each client schedules its reconnect (end of stream seen + the `retry:` it was
 * given), so that this busy test process's own timer delays do not bunch them up.
 * Closing every stream at once would put about a seventh of them in the busiest 100 ms even
 * with the jittered `retry:` alone (spread over one second); closed over the drain window, the
 * busiest 100 ms holds about a thirtieth.
 */
const RECONNECT_PEAK_SHARE = 0.1;
/** Time a process may take to exit after its shutdown completed. */
const EXIT_SLACK_MS = 1500;

interface DrainReport {
  name: string;
  drained: number;
  exitMs: number;
  exitCode: number | null;
  readyzStatus: number;
  streamStatus: number;
  streamCode: string;
  retryAfter: string | null;
  dropSpanMs: number;
  peakPer100ms: number;
  /** Reconnect attempts beyond the first per drained client (after a refused attempt). */
  retries: number;
  /** Event-loop delay p99 of the test process during the drain (clients timestamp on it). */
  testLoopP99Ms: number;
}

describe('fault: SIGTERM drain and rolling restart under load', { timeout: 240_000 }, () => {
  const stage = scenarioPerSuite();

  test('drains spread the reconnects and nothing is lost', async (t) => {
    const s = stage.scenario;
    const { fleet, pollers } = await s.underLoad(CLIENTS, 10, 10);
    const [a, b] = s.gateways as [GatewayProcess, GatewayProcess];

    // One drain, then a rolling restart of both (each waits for the previous one to take traffic).
    const reports: DrainReport[] = [];
    for (const gw of [a, b, a]) reports.push(await drainAndRestart(fleet, gw));

    await s.producer.stop();
    await fleet.waitForTruth(() => s.producer.truth(), 30_000);
    for (const p of pollers) await p.waitForTruth(() => s.producer.truth(), 15_000);

    const anomalies = fleet.clients.flatMap((c) => c.anomalies.map((x) => `client ${c.id}: ${x}`));
    assert.deepEqual(anomalies.slice(0, 10), [], `${anomalies.length} delivery anomalies`);
    const failed = pollers.map((p) => p.failures()).filter(Boolean);
    assert.deepEqual(failed, [], `no poll failed through NGINX\n${await s.diagnostics()}`);
    for (const r of reports) t.diagnostic(JSON.stringify(r));
    for (const r of reports) {
      const what = `drain of ${r.name}: ${JSON.stringify(r)}`;
      assert.ok(r.drained > 0, `${what}: it had clients`);
      assert.equal(r.readyzStatus, 503, `${what}: /readyz went 503 first`);
      assert.equal(r.streamStatus, 503, `${what}: new streams refused`);
      assert.equal(r.streamCode, 'SHUTTING_DOWN', what);
      assert.ok(Number(r.retryAfter) >= 1, `${what}: refusal carries Retry-After`);
      assert.equal(r.exitCode, 0, `${what}: clean exit`);
      assert.ok(r.exitMs <= DRAIN_MS + EXIT_SLACK_MS, `${what}: exited within the drain window`);
      assert.ok(r.dropSpanMs >= DRAIN_MS * 0.5, `${what}: streams closed gradually, not at once`);
      const bound = Math.max(5, Math.ceil(r.drained * RECONNECT_PEAK_SHARE));
      assert.ok(r.peakPer100ms <= bound, `${what}: peak reconnects per 100 ms ${r.peakPer100ms} > ${bound}`);
    }
    const resyncs = await s.metricSum('switchyard_sse_connects_total', { kind: 'resync' });
    assert.equal(resyncs, 0, 'no client needed a resync');
  });
});

/** SIGTERMs `gw`, checks what it answers while draining, waits for its exit, restarts it. */
async function drainAndRestart(fleet: Fleet, gw: GatewayProcess): Promise<DrainReport> {
  const drained = metricValue(await gw.metricsText(), 'switchyard_sse_connections');
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const t0 = Date.now();
  const dropsBefore = new Map(fleet.clients.map((c) => [c.id, c.drops.length]));
  gw.signal('SIGTERM');
  // The listener stays open while streams drain: readiness and refusals are observable.
  let readyzStatus = 0;
  while (readyzStatus !== 503 && gw.running && Date.now() - t0 < DRAIN_MS) {
    readyzStatus = await gw.fetch('/readyz').then(
      (r) => r.status,
      () => 0,
    );
  }
  const refused = await gw.fetch('/v1/stream').catch(() => null);
  const streamStatus = refused?.status ?? 0;
  const streamCode = refused
    ? (((await refused.json().catch(() => ({}))) as { error?: { code?: string } }).error?.code ?? '')
    : '';
  const exit = await gw.exited();
  // Everyone it dropped is back (on the other instance) before it is restarted.
  await waitFor(
    () => fleet.clients.every((c) => c.open),
    30_000,
    () =>
      `${fleet.clients.filter((c) => !c.open).length} clients not reconnected after the drain of ${gw.name}`,
  );
  const drops: number[] = [];
  const reconnects: number[] = [];
  let refusals = 0;
  for (const c of fleet.clients) {
    const fresh = c.drops.slice(dropsBefore.get(c.id) ?? 0);
    drops.push(...fresh);
    // The reconnect that follows the drop (retries after a refusal are counted apart).
    const first = fresh.length > 0 ? c.plannedReconnects.find((t) => t >= fresh[0]!) : undefined;
    if (first !== undefined) reconnects.push(first);
    refusals += c.plannedReconnects.filter((t) => t >= t0).length - (first === undefined ? 0 : 1);
  }
  const report: DrainReport = {
    name: gw.name,
    drained,
    exitMs: exit.at - t0,
    exitCode: exit.code,
    readyzStatus,
    streamStatus,
    streamCode,
    retryAfter: refused?.headers.get('retry-after') ?? null,
    dropSpanMs: drops.length > 0 ? Math.max(...drops) - Math.min(...drops) : 0,
    peakPer100ms: peakPerBucket(reconnects, t0, 100),
    retries: refusals,
    testLoopP99Ms: Math.round(loop.percentile(99) / 1e6),
  };
  loop.disable();
  await gw.restart();
  // As a rolling deployment waits for readiness, wait until NGINX sends the new process traffic
  // it answers (NGINX skips an instance for fail_timeout after failures while it was down).
  const deadline = Date.now() + 20_000;
  const served = (m: string): number =>
    ['200', '304'].reduce(
      (n, status) =>
        n + (metricValue(m, 'switchyard_http_requests_total', { endpoint: 'snapshot', status }) || 0),
      0,
    );
  while (!(served(await gw.metricsText()) >= 3)) {
    if (Date.now() > deadline) throw new Error(`NGINX sent no polls to the restarted ${gw.name}`);
    await sleep(100);
  }
  return report;
}
