/**
 * `switchyard compare` against a gateway on the real broker, with a producer writing the demo's
 * orders and totals with current timestamps and a 10 s poll interval: SSE delivers in
 * milliseconds and polling in seconds (a sanity check of what the command measures, not a
 * speed test), SSE delivers every update, and the gateway's own figures (/metrics and
 * /v1/stats/latency, the /compare page's source) agree with each other and with the command.
 * Needs KAFKA_BROKERS (`npm test`).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type CompareResult, formatTable } from '../../bench/compare/report.ts';
import { histogramQuantile } from '../../gateway/observability/quantiles.ts';
import { LiveMapGenerator } from '../../gateway/source/demo-live-map.ts';
import { loadConfig } from '../../gateway/switchyard.ts';
import { closeKafkaHelpers, createTopic, kafkaBrokers, produce } from '../helpers/kafka.ts';
import { assertReadyWithin, startServedGateway } from '../helpers/served-gateway.ts';
import { httpGet } from '../helpers/sse-client.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

after(closeKafkaHelpers);

test('compare: SSE in milliseconds, polling in seconds, and the gateway agrees', {
  timeout: 60_000,
}, async (t) => {
  const orders = await createTopic('compare-orders');
  const totals = await createTopic('compare-totals', { compacted: true });
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    KAFKA_BROKERS: kafkaBrokers().join(','),
    STREAMS: `orders:feed:${orders},totals:table:${totals}`,
    POLL_INTERVAL_MS: '10000',
  });
  const { ctx, server } = await startServedGateway(t, config);
  await assertReadyWithin(ctx, 15_000, 'the gateway caught up');

  // The producer: ten orders a second, stamped now, each with its country's new total.
  const gen = new LiveMapGenerator();
  let producing = true;
  let sent = 0;
  const producer = (async () => {
    while (producing) {
      const { order, total } = gen.next(Date.now());
      await Promise.all([
        produce(orders, [{ key: order.id, value: JSON.stringify(order), timestamp: order.createdAt }]),
        produce(totals, [{ key: total.country, value: JSON.stringify(total), timestamp: total.updatedAt }]),
      ]);
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  const stopProducer = async (): Promise<void> => {
    producing = false;
    await producer;
  };
  t.after(stopProducer);

  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'scripts', 'switchyard.mjs'),
      'compare',
      '--url',
      server.url,
      '--clients',
      '3',
      '--duration',
      '25s',
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.after(() => child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `compare failed: ${stderr}`);
  const r = JSON.parse(stdout) as CompareResult;
  const { poll, sse } = r.transports;
  for (const line of formatTable(r).trimEnd().split('\n')) t.diagnostic(line);

  assert.equal(r.pollIntervalMs, 10_000, 'the advertised interval was used');
  assert.equal(poll.clients, 3);
  assert.equal(sse.clients, 3);
  assert.ok(sse.p50Ms !== null && sse.p50Ms < 100, `SSE p50 ${sse.p50Ms} ms should be under 100 ms`);
  assert.ok(poll.p50Ms !== null && poll.p50Ms > 1000, `polling p50 ${poll.p50Ms} ms should be over 1 s`);
  assert.ok(r.ratio.p50 !== null && r.ratio.p50 > 10);
  assert.ok(r.window.updates > 0, 'some updates fell in the counting window');
  assert.equal(sse.delivered, sse.expected, 'every SSE client got every update');
  assert.ok(poll.delivered > 0 && poll.delivered <= poll.expected);
  assert.equal(sse.errors + poll.errors, 0);

  // The gateway's own figures: /v1/stats/latency (what /compare draws) is /metrics, summarised.
  // Read once everything produced is applied, so both read the same histograms.
  await stopProducer();
  const applied = (name: string) => ctx.cache.streams.get(name)?.offsets[0] === sent;
  assert.ok(
    await ctx.hub.waitUntil(() => applied('orders') && applied('totals'), 10_000),
    'all records applied',
  );
  const stats = JSON.parse((await httpGet(`${server.url}/v1/stats/latency`)).text) as {
    total: Record<'poll' | 'sse', { count: number; p50: number | null }>;
  };
  const text = (await httpGet(`${server.url}/metrics`)).text;
  for (const transport of ['poll', 'sse'] as const) {
    const buckets = [...text.matchAll(/^switchyard_delivery_latency_seconds_bucket\{(.*)\} (\S+)$/gm)]
      .filter((m) => m[1]!.includes(`transport="${transport}"`))
      .map((m) => ({ le: /le="([^"]+)"/.exec(m[1]!)![1]!, count: Number(m[2]) }));
    const finite = buckets.filter((b) => b.le !== '+Inf');
    const total = buckets.find((b) => b.le === '+Inf')!.count;
    assert.equal(stats.total[transport].count, total, `${transport}: stats and /metrics count the same`);
    const p50 = histogramQuantile(0.5, {
      bounds: finite.map((b) => Number(b.le)),
      cumulative: [...finite.map((b) => b.count), total],
      sum: 0,
    });
    assert.equal(stats.total[transport].p50, p50, `${transport}: same p50 from /metrics buckets`);
  }
  // ...and tells the same story as the command, within what bucketed estimates allow.
  const gwPoll = stats.total.poll.p50!;
  const gwSse = stats.total.sse.p50!;
  assert.ok(gwSse < 0.1, `gateway SSE p50 ${gwSse} s`);
  assert.ok(gwPoll > 1, `gateway poll p50 ${gwPoll} s`);
  assert.ok(gwPoll * 1000 > poll.p50Ms! / 2 && gwPoll * 1000 < poll.p50Ms! * 2, 'poll p50 agrees within 2x');
});
