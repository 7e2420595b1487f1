/**
 * Fault: the Kafka broker is stopped for 30 s (BROKER_DOWN_MS) under two instances behind NGINX,
 * then started again. While it is down the served state stays available and is marked stale:
 * polls answer 200 with `X-Switchyard-Stale` and the last state, every stream gets a `status`
 * event `{"stale":true}` and stays open, `switchyard_source_staleness_seconds` grows, and
 * `/readyz` stays 200 (the documented policy: a broker outage must not empty the load balancer).
 * Once the broker is back the instances reconnect, catch up, say `{"stale":false}`, and every
 * client ends with the producer's ground truth with no record skipped or repeated.
 *
 * The producer pauses while the broker is down (a send that fails could have been written, and
 * its retry would duplicate a record: a producer problem, not the gateway's). The broker is left
 * running when this file ends, even on failure: the rest of the suite shares it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isBrokerRunning } from '../../scripts/kafka.ts';
import { metricValue } from '../helpers/gateway-process.ts';
import { closeKafkaHelpers, startTestBroker, stopTestBroker } from '../helpers/kafka.ts';
import { waitFor } from './fleet.ts';
import { FAULT_ENV, Scenario } from './scenario.ts';

const BROKER_DOWN_MS = Number(process.env.FAULT_BROKER_DOWN_MS ?? 30_000);
const STALE_AFTER_S = Number(FAULT_ENV.STALE_AFTER_MS) / 1000;

async function ensureBrokerRunning(): Promise<void> {
  const state = process.env.SWITCHYARD_KAFKA_STATE;
  if (state && !isBrokerRunning(state)) await startTestBroker();
}

describe('fault: broker stopped for 30 s', { timeout: 240_000 }, () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start();
  });
  after(async () => {
    try {
      await ensureBrokerRunning();
    } finally {
      await s?.close();
      await closeKafkaHelpers();
    }
  });

  test('serves the last state marked stale, then catches up with nothing lost', async () => {
    const fleet = await s.fleet(200);
    const pollers = s.pollers(5);
    s.producer.start();
    await waitFor(
      () => fleet.clients.every((c) => c.updates >= 6),
      30_000,
      () => `${fleet.clients.filter((c) => c.updates < 6).length} clients still waiting for updates`,
    );
    await s.producer.stop();
    await fleet.waitForTruth(() => s.producer.truth(), 30_000);
    for (const p of pollers) await p.waitForTruth(() => s.producer.truth(), 15_000);
    const staleBefore = pollers.map((p) => p.staleAnswers);
    const dropsBefore = fleet.clients.map((c) => c.drops.length);

    const down = Date.now();
    await stopTestBroker();
    try {
      await waitFor(
        () => fleet.clients.every((c) => c.statuses.some((x) => x.stale && x.at >= down)),
        20_000,
        () =>
          `${fleet.clients.filter((c) => !c.statuses.some((x) => x.stale)).length} clients not told stale`,
      );
      await waitFor(
        () => pollers.every((p, i) => p.staleAnswers > staleBefore[i]!),
        20_000,
        () => 'pollers got no X-Switchyard-Stale answer',
      );
      for (const gw of s.gateways) {
        const m = await gw.metricsText();
        assert.ok(metricValue(m, 'switchyard_source_staleness_seconds') > STALE_AFTER_S, `${gw.name} stale`);
        const ready = await gw.fetch('/readyz');
        const body = (await ready.json()) as { stale: boolean };
        assert.equal(ready.status, 200, `${gw.name} stays ready while stale (policy)`);
        assert.equal(body.stale, true, `${gw.name} /readyz says stale`);
      }
      // The state is still served, unchanged, to pollers and streams alike.
      for (const p of pollers) await p.waitForTruth(() => s.producer.truth(), 5000);
      await sleep(Math.max(0, down + BROKER_DOWN_MS - Date.now()));
    } finally {
      await startTestBroker();
    }

    s.producer.start();
    const resumedAt = s.producer.truth().lastSeq;
    await waitFor(
      () => s.producer.truth().lastSeq >= resumedAt + 30,
      60_000,
      () => `producer at ${s.producer.truth().lastSeq}`,
    );
    await s.producer.stop();
    await fleet.waitForTruth(() => s.producer.truth(), 60_000);
    for (const p of pollers) await p.waitForTruth(() => s.producer.truth(), 30_000);
    await waitFor(
      () => fleet.clients.every((c) => c.statuses.at(-1)?.stale === false),
      15_000,
      () =>
        `${fleet.clients.filter((c) => c.statuses.at(-1)?.stale !== false).length} clients not told fresh`,
    );

    const anomalies = fleet.clients.flatMap((c) => c.anomalies.map((x) => `client ${c.id}: ${x}`));
    assert.deepEqual(anomalies.slice(0, 10), [], `${anomalies.length} delivery anomalies`);
    const dropped = fleet.clients.filter((c, i) => c.drops.length > dropsBefore[i]!).length;
    assert.equal(dropped, 0, 'no stream was dropped because of the outage');
    const failed = pollers.map((p) => p.failures()).filter(Boolean);
    assert.deepEqual(failed, [], `no poll failed\n${await s.diagnostics()}`);
    for (const gw of s.gateways) {
      const m = await gw.metricsText();
      assert.ok(metricValue(m, 'switchyard_source_staleness_seconds') < STALE_AFTER_S, `${gw.name} fresh`);
      assert.equal(metricValue(m, 'switchyard_source_connected'), 1, `${gw.name} reconnected`);
    }
  });
});
