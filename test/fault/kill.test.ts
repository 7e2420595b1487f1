/**
 * Fault: one of two instances behind NGINX is SIGKILLed under load. Every streaming client that
 * was on it reconnects through NGINX to the other with its Last-Event-ID and receives exactly
 * the updates it missed: no gap, no duplicate, no resync; every client and poller ends with the
 * producer's ground truth, and no poll ever saw an error (NGINX retried them on the survivor).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { metricValue } from '../helpers/gateway-process.ts';
import { waitFor } from './fleet.ts';
import { scenarioPerSuite } from './scenario.ts';

const CLIENTS = 300;
const POLLERS = 10;

describe('fault: SIGKILL one of two instances', { timeout: 240_000 }, () => {
  const stage = scenarioPerSuite();

  test('every client resumes on the survivor with exactly the missed updates', async () => {
    const s = stage.scenario;
    const { fleet, pollers } = await s.underLoad(CLIENTS, POLLERS, 10);
    const [a, b] = s.gateways as [(typeof s.gateways)[0], (typeof s.gateways)[0]];
    const onA = metricValue(await a.metricsText(), 'switchyard_sse_connections');
    assert.ok(onA > 0 && onA < CLIENTS, `NGINX spread the clients (${onA} of ${CLIENTS} on instance A)`);

    const exit = await a.kill('SIGKILL');
    assert.equal(exit.signal, 'SIGKILL');
    // Keep producing while the dropped clients come back, then let everyone catch up.
    const killedAtSeq = s.producer.truth().lastSeq;
    await waitFor(
      () => fleet.clients.every((c) => c.open) && s.producer.truth().lastSeq >= killedAtSeq + 60,
      30_000,
      () => `${fleet.clients.filter((c) => !c.open).length} clients not reconnected`,
    );
    await s.producer.stop();
    await fleet.waitForTruth(() => s.producer.truth(), 30_000);
    for (const p of pollers) await p.waitForTruth(() => s.producer.truth(), 15_000);

    const anomalies = fleet.clients.flatMap((c) => c.anomalies.map((x) => `client ${c.id}: ${x}`));
    assert.deepEqual(anomalies.slice(0, 10), [], `${anomalies.length} delivery anomalies`);
    const dropped = fleet.clients.filter((c) => c.drops.length > 0);
    assert.equal(dropped.length, onA, 'exactly the clients of the killed instance lost their stream');
    assert.ok(
      dropped.every((c) => c.drops.length === 1 && c.connects === 2),
      'each of them reconnected once',
    );
    const mb = await b.metricsText();
    assert.ok(
      metricValue(mb, 'switchyard_sse_connects_total', { kind: 'replay' }) >= onA,
      'the survivor replayed the missed updates to each of them',
    );
    assert.ok(
      !(metricValue(mb, 'switchyard_sse_connects_total', { kind: 'resync' }) > 0),
      'no client needed a resync',
    );
    assert.equal(metricValue(mb, 'switchyard_sse_connections'), CLIENTS, 'all clients are on the survivor');
    const failed = pollers.map((p) => p.failures()).filter(Boolean);
    assert.deepEqual(failed, [], `no poll failed through NGINX\n${await s.diagnostics()}`);
  });
});
