/**
 * Issue 18, the operator's start-up: `gateway/main.ts` as a real child process.
 * - A port already in use is one line naming the setting (`PORT`, `LEGACY_DEMO_PORT`), exit 2,
 *   no stack.
 * - On a fresh Kafka broker with two workers (as `npm start -- --kafka-demo` runs by default on
 *   two cores, racing to create the control topic), the banner is printed once and start-up logs
 *   no warning or error: transient coordinator and leader states are expected, not news. The
 *   broker is started for this test (about 30 s): only a broker never used shows those states.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { destroyBroker, startBroker } from '../../scripts/kafka.ts';
import { freePort, GatewayProcess } from '../helpers/gateway-process.ts';

/** Holds a loopback port, as another program would. */
async function occupy(t: { after(fn: () => unknown): void }): Promise<number> {
  const port = await freePort();
  const server: Server = createServer();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return port;
}

/** The process's non-empty output lines (stdout and stderr). */
function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

async function clash(
  t: { after(fn: () => unknown): void },
  setting: string,
  env: Record<string, string>,
  port?: number,
) {
  const gw = await GatewayProcess.launch({
    name: `clash-${setting}`,
    env,
    port,
    unsetEnv: ['KAFKA_BROKERS'],
  });
  t.after(() => gw.stop());
  const exit = await Promise.race([
    gw.exited(),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no exit within 60 s:\n${gw.logs}`)), 60_000).unref(),
    ),
  ]);
  return { exit, out: lines(gw.logs) };
}

test('PORT in use: one line naming PORT, exit 2, no stack', async (t) => {
  const port = await occupy(t);
  const { exit, out } = await clash(t, 'PORT', { LOG_LEVEL: 'warn' }, port);
  assert.equal(exit.code, 2, out.join('\n'));
  assert.deepEqual(
    out,
    [
      `switchyard failed to start: PORT=${port}: the port is already in use; stop what uses it or set PORT to a free port`,
    ],
    'exactly one line, no stack',
  );
});

test('LEGACY_DEMO_PORT in use: one line naming LEGACY_DEMO_PORT, exit 2, no stack', async (t) => {
  const demoPort = await occupy(t);
  const { exit, out } = await clash(t, 'LEGACY_DEMO_PORT', {
    LOG_LEVEL: 'warn',
    LEGACY_DEMO_PORT: String(demoPort),
  });
  assert.equal(exit.code, 2, out.join('\n'));
  assert.deepEqual(out, [
    `switchyard failed to start: LEGACY_DEMO_PORT=${demoPort}: the port is already in use; stop what uses it or set LEGACY_DEMO_PORT to a free port`,
  ]);
});

test('a fresh Kafka broker, two workers: one banner, and no warning or error while starting', async (t) => {
  // A broker of its own, never used: its group coordinator is not loaded yet, leaders of new
  // topics are being elected, and both workers race to create the control topic, as on the
  // first `npm start -- --kafka-demo`. (The shared test broker is long past those states.)
  const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-fresh-broker-'));
  let gw: GatewayProcess | null = null;
  t.after(async () => {
    await gw?.stop(); // before its broker
    await destroyBroker(stateDir);
  });
  const broker = await startBroker({ stateDir });
  const kafka = new Kafka({
    clientId: 'startup-test',
    brokers: [broker.brokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const [orders, totals] = ['startup-orders', 'startup-totals'];
  await admin.createTopics({ topics: [{ topic: orders }, { topic: totals }], waitForLeaders: true });
  await admin.disconnect();
  gw = await GatewayProcess.start(
    {
      name: 'startup-kafka',
      env: {
        KAFKA_BROKERS: broker.brokers,
        STREAMS: `orders:feed:${orders},totals:table:${totals}`,
        WORKERS: '2',
        LOG_LEVEL: 'info',
        SWITCHYARD_PRINT_URLS: '1',
        // A control topic that does not exist yet: both workers race to create it, as on a first
        // `npm start -- --kafka-demo`.
        ROLLOUT_TOPIC: `${orders}.control`,
        ROLLOUT_CREATE_TOPIC: 'true',
      },
    },
    120_000,
  );
  const started = gw;
  const listening = () => lines(started.logs).filter((l) => l.includes('"msg":"listening"')).length;
  const deadline = Date.now() + 60_000;
  while (listening() < 2) {
    assert.ok(Date.now() < deadline, `both workers listening:\n${gw.logs}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const out = lines(gw.logs);
  const banners = out.filter((l) => l.startsWith('Switchyard is running'));
  assert.equal(banners.length, 1, `one banner:\n${gw.logs}`);
  const loud = out.filter((l) => {
    if (!l.startsWith('{')) return false;
    const level = (JSON.parse(l) as { level?: number }).level ?? 0;
    return level >= 40;
  });
  assert.deepEqual(loud, [], 'no warning or error while starting');
  assert.ok(!/\n\s+at /.test(gw.logs), 'no stack');
});
