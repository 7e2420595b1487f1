/**
 * /compare on the Kafka path with WORKERS=2 (a real gateway process on the real broker): the
 * page's figures come from /v1/stats/latency, which sums every worker, so the SSE tile counts
 * the deliveries whichever worker the page's stream and its stats requests land on.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { launchChromium } from '../helpers/chromium.ts';
import { GatewayProcess } from '../helpers/gateway-process.ts';
import { closeKafkaHelpers, createTopic, produce } from '../helpers/kafka.ts';

after(closeKafkaHelpers);

test('/compare shows deliveries on the Kafka path with two workers', { timeout: 180_000 }, async (t) => {
  const [orders, totals] = await Promise.all([createTopic('compare-orders'), createTopic('compare-totals')]);
  const record = (i: number) => ({
    key: `o${i}`,
    value: JSON.stringify({ id: `o${i}`, lat: 48.8, lon: 2.3, amountUsd: 10, createdAt: Date.now() }),
  });
  await produce(totals, [{ key: 'FR', value: '{"country":"FR","orders":1,"revenueUsd":10}' }]);
  await produce(orders, [record(0)]);
  const gw = await GatewayProcess.start({
    name: 'compare-fleet',
    env: {
      KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
      STREAMS: `orders:feed:${orders},totals:table:${totals}`,
      WORKERS: '2',
      POLL_INTERVAL_MS: '2000',
      ROLLOUT_TOPIC: `${orders}.control`,
      ROLLOUT_CREATE_TOPIC: 'true',
    },
  });
  t.after(() => gw.stop());

  const browser = await launchChromium(t, {
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
  const page = browser.pages()[0] ?? (await browser.newPage());
  assert.equal((await page.goto(`${gw.url}/compare`))?.status(), 200);
  await page.waitForFunction(
    () => /connected/.test(document.querySelector('#sse-panel [data-status]')?.textContent ?? ''),
    undefined,
    { timeout: 20_000 },
  );
  // Records keep coming until the tile counts deliveries (it refreshes on its own schedule).
  let i = 1;
  let producing = true;
  const producer = (async () => {
    while (producing) await produce(orders, [record(i++)]);
  })();
  t.after(async () => {
    producing = false;
    await producer;
  });
  await page.waitForFunction(
    () => /[\d,]+ deliveries measured/.test(document.getElementById('sse-count')?.textContent ?? ''),
    undefined,
    { timeout: 30_000, polling: 200 },
  );
  producing = false;
  await producer;
  const stats = (await (await gw.fetch('/v1/stats/latency')).json()) as {
    workers: number;
    total: { sse: { count: number } };
  };
  assert.equal(stats.workers, 2);
  assert.ok(stats.total.sse.count > 0);
});
