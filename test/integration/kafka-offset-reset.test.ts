/**
 * Issue 16 (and issue 13's leftover): offsets that go out of range without the topic being
 * re-created. Records the gateway had not read yet are deleted under it (here `deleteRecords`, as
 * retention does with old segments); kafkajs then logs "Offset out of range, resetting to default
 * offset" and goes on from the earliest offset, silently skipping what was lost. The gateway must
 * notice it, count and log it, show the stream stale with a reason while it reads the topic again
 * from its start, and make its clients resync (their state holds data the topic no longer has).
 *
 * The gateway is held behind on purpose, deterministically: the source's `prepare` hook (the
 * Schema Registry's async step before a batch is applied) waits on a gate while records are
 * produced and truncated. kafkajs fetches again only once a batch is handled, so its next fetch
 * asks for an offset below the new log start.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createGateway, startGateway, stopGateway } from '../../gateway/gateway.ts';
import { createApp } from '../../gateway/http/app.ts';
import { promKafkaMetrics } from '../../gateway/observability/kafka-metrics.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { KafkaHealth } from '../../gateway/source/kafka-health.ts';
import { KafkaSource } from '../../gateway/source/kafka-source.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';
import { loadConfig } from '../../gateway/switchyard.ts';
import { closeKafkaHelpers, createTopic, kafkaBrokers, produce, testKafka } from '../helpers/kafka.ts';
import { assertReadyWithin } from '../helpers/served-gateway.ts';
import { httpGet, listen, openSse } from '../helpers/sse-client.ts';
import { pollUntil } from '../helpers/wait.ts';

after(() => closeKafkaHelpers());

/** Checks `pred` every 50 ms until it holds; fails after `ms`. */
const eventually = (what: string, pred: () => boolean | Promise<boolean>, ms = 20_000) =>
  pollUntil(what, pred, { timeoutMs: ms, intervalMs: 50 });

/** `p`, or a failure naming `what` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A gate the source's `prepare` waits on while closed; tells when a batch is held. */
class BatchGate {
  private open: Promise<void> | null = null;
  private release: (() => void) | null = null;
  private onHeld: ((offsets: number[]) => void) | null = null;

  close(): Promise<number[]> {
    this.open = new Promise((r) => {
      this.release = r;
    });
    return new Promise((r) => {
      this.onHeld = r;
    });
  }

  reopen(): void {
    this.release?.();
    this.open = null;
  }

  prepare = async (_topic: string, records: readonly SourceRecord[]): Promise<void> => {
    if (!this.open || records.length === 0) return;
    this.onHeld?.(records.map((r) => r.offset));
    await this.open;
  };
}

test('offsets out of range (records deleted before they were read): noticed, counted, re-read, clients resync', async (t) => {
  // A plain (not compacted) topic: the broker refuses deleteRecords on compacted ones.
  const topic = await createTopic('offset-reset');
  await produce(
    topic,
    Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: '{"gen":1}' })),
  );
  const config = loadConfig({
    KAFKA_BROKERS: kafkaBrokers().join(','),
    STREAMS: JSON.stringify([{ name: 'totals', topic, mode: 'table' }]),
    HEARTBEAT_MS: '1000',
    RETRY_MS: '200',
    KAFKA_MAX_RETRY_MS: '1000',
    MAX_EVENT_LOOP_LAG_MS: '0',
  });
  const lines: Array<Record<string, unknown>> = [];
  const sink = { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) };
  const logger = createLogger('info', sink as unknown as NodeJS.WritableStream);
  const gate = new BatchGate();
  const metrics = new GatewayMetrics();
  const source = new KafkaSource({
    ...config.kafka!,
    streams: config.streams,
    logger,
    health: new KafkaHealth(config.kafka!, { logger, metrics: promKafkaMetrics(metrics) }),
    probeIntervalMs: 300,
    prepare: gate.prepare,
  });
  const ctx = createGateway(config, { logger, source, metrics });
  await startGateway(ctx);
  const server = await listen(createApp(ctx));
  t.after(async () => {
    gate.reopen();
    await server.close();
    await stopGateway(ctx);
  });
  await assertReadyWithin(ctx, 30_000);
  const table = ctx.cache.streams.get('totals')!.table!;
  assert.equal(table.size, 5);

  const sse = await openSse(`${server.url}/v1/stream?streams=totals`, { t });
  const first = await sse.nextEvent();
  assert.equal(first.event, 'snapshot');

  // Hold the gateway at offset 5, then write 6..15 and delete everything before 12.
  const held = gate.close();
  await produce(topic, [{ key: 'k5', value: '{"gen":1}' }]);
  assert.deepEqual(await held, [5]);
  await produce(
    topic,
    Array.from({ length: 10 }, (_, i) => ({ key: `k${i + 6}`, value: '{"gen":2}' })),
  );
  const admin = testKafka().admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  await admin.fetchTopicMetadata({ topics: [topic] }); // kafkajs needs the leaders known
  await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '12' }] });
  gate.reopen();

  // The open stream showed data the topic no longer has: it is ended, and its id resyncs.
  await within(sse.closed, 20_000, 'the open stream ends');
  await eventually('the topic is read again from its new start', () => {
    const keys = [...table.keys()].sort();
    return keys.join(',') === 'k12,k13,k14,k15';
  });
  const resumed = await openSse(`${server.url}/v1/stream?streams=totals`, {
    t,
    headers: { 'last-event-id': first.id! },
  });
  const resync = await resumed.nextEvent();
  assert.equal(resync.event, 'snapshot');
  const body = JSON.parse(resync.data) as { resync?: boolean; reason?: string; streams: object };
  assert.equal(body.resync, true, 'an id of the lost data gets a resync');
  assert.equal(body.reason, 'lineage');
  assert.deepEqual(
    Object.keys((body.streams as { totals: { entries: object } }).totals.entries).sort(),
    ['k12', 'k13', 'k14', 'k15'],
    'the same rows as a gateway started now',
  );

  // Counted, logged once with what was lost, and reported while the re-read lasted.
  const exposition = (await httpGet(`${server.url}/metrics`)).text;
  assert.match(exposition, /switchyard_kafka_offsets_out_of_range_total\{stream="totals"\} 1\b/);
  const warned = lines.filter((l) => l.reason === 'offsets_out_of_range' && l.level === 40);
  assert.ok(
    warned.some((l) => /out of range/.test(String(l.msg)) && l.partition === 0 && l.position === 6),
    `one warning names the partition and the lost position: ${JSON.stringify(warned)}`,
  );
  assert.ok(
    lines.some((l) => /stale: offsets_out_of_range/.test(String(l.msg))),
    'the stream was stale with the reason while it was read again',
  );
  await eventually('no longer stale once re-read', async () => {
    const r = JSON.parse((await httpGet(`${server.url}/readyz`)).text) as {
      staleStreams: unknown[];
      ready: boolean;
    };
    return r.staleStreams.length === 0 && r.ready;
  });

  // It goes on reading: a new record after the reset arrives on a fresh stream.
  const fresh = await openSse(`${server.url}/v1/stream?streams=totals`, { t });
  assert.equal((await fresh.nextEvent()).event, 'snapshot');
  await produce(topic, [{ key: 'k16', value: '{"gen":3}' }]);
  const update = await fresh.waitFor((i) => i.kind === 'event' && i.event === 'update');
  assert.ok(update.kind === 'event' && update.data.includes('k16'));
});
