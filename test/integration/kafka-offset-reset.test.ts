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
 *
 * Twice: with kafkajs writing and truncating (our own stack), and with the official Java client
 * (`kafka-clients`: `KafkaProducer` with keys, headers and a tombstone over three partitions,
 * `Admin.deleteRecords`; test/helpers/java-producer.ts), where the cache must then hold exactly
 * the records the topic still has.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { GatewayContext } from '../../gateway/context.ts';
import { createGateway, startGateway, stopGateway } from '../../gateway/gateway.ts';
import { createApp } from '../../gateway/http/app.ts';
import { promKafkaMetrics } from '../../gateway/observability/kafka-metrics.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { KafkaHealth } from '../../gateway/source/kafka-health.ts';
import { KafkaSource } from '../../gateway/source/kafka-source.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';
import { loadConfig } from '../../gateway/switchyard.ts';
import { type JavaRecord, startJavaProducer } from '../helpers/java-producer.ts';
import { closeKafkaHelpers, createTopic, kafkaBrokers, produce, testKafka } from '../helpers/kafka.ts';
import { assertReadyWithin } from '../helpers/served-gateway.ts';
import { httpGet, listen, openSse, type SseConnection, type Teardown } from '../helpers/sse-client.ts';

after(() => closeKafkaHelpers());

/** Checks `pred` every 50 ms until it holds; fails after `ms`. */
async function eventually(what: string, pred: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

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

/** A gateway reading `topic` as the table stream `totals`, its source held by `gate` when closed. */
interface HeldGateway {
  ctx: GatewayContext;
  url: string;
  gate: BatchGate;
  /** Every log line, parsed. */
  lines: Array<Record<string, unknown>>;
}

/** Starts a held gateway on the real KafkaSource and waits until it is ready; stopped on teardown. */
async function startHeldGateway(t: Teardown, topic: string): Promise<HeldGateway> {
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
  return { ctx, url: server.url, gate, lines };
}

/** The rows of the `totals` table as `key@partition:offset=value`, sorted. */
function cachedRows(gw: HeldGateway): string[] {
  const table = gw.ctx.cache.streams.get('totals')!.table!;
  return [...table.values()].map((e) => `${e.key}@${e.partition}:${e.offset}=${e.valueJson}`).sort();
}

/**
 * After the reset: the open stream (`open`) was ended with DATA_REPLACED, and its last id
 * (`lastId`) now resyncs to a snapshot of exactly `entries` (key -> value).
 */
async function expectResync(
  t: Teardown,
  gw: HeldGateway,
  open: SseConnection,
  lastId: string,
  entries: Record<string, unknown>,
): Promise<void> {
  const end = await open.waitFor((i) => i.kind === 'event' && i.event === 'gateway-error', 20_000);
  assert.equal((JSON.parse((end as { data: string }).data) as { code: string }).code, 'DATA_REPLACED');
  await within(open.closed, 20_000, 'the open stream ends');
  const resumed = await openSse(`${gw.url}/v1/stream?streams=totals`, {
    t,
    headers: { 'last-event-id': lastId },
  });
  const resync = await resumed.nextEvent();
  assert.equal(resync.event, 'snapshot');
  const body = JSON.parse(resync.data) as {
    resync?: boolean;
    reason?: string;
    streams: { totals: { entries: Record<string, { value: unknown }> } };
  };
  assert.equal(body.resync, true, 'an id of the lost data gets a resync');
  assert.equal(body.reason, 'lineage');
  const got = Object.fromEntries(Object.entries(body.streams.totals.entries).map(([k, e]) => [k, e.value]));
  assert.deepEqual(got, entries, 'the same rows as a gateway started now');
}

/**
 * Counted once, logged once naming a partition that went out of range and the position lost
 * there (`lost`: partition -> the gateway's next offset when it was held), stale meanwhile, and
 * no longer stale once the topic was read again.
 */
async function expectReported(gw: HeldGateway, lost: ReadonlyMap<number, number>): Promise<void> {
  const exposition = (await httpGet(`${gw.url}/metrics`)).text;
  assert.match(exposition, /switchyard_kafka_offsets_out_of_range_total\{stream="totals"\} 1\b/);
  const warned = gw.lines.filter((l) => l.reason === 'offsets_out_of_range' && l.level === 40);
  assert.ok(
    warned.some((l) => /out of range/.test(String(l.msg)) && lost.get(l.partition as number) === l.position),
    `one warning names the partition and the lost position: ${JSON.stringify(warned)}`,
  );
  assert.ok(
    gw.lines.some((l) => /stale: offsets_out_of_range/.test(String(l.msg))),
    'the stream was stale with the reason while it was read again',
  );
  await eventually('no longer stale once re-read', async () => {
    const r = JSON.parse((await httpGet(`${gw.url}/readyz`)).text) as {
      staleStreams: unknown[];
      ready: boolean;
    };
    return r.staleStreams.length === 0 && r.ready;
  });
}

test('offsets out of range (records deleted before they were read): noticed, counted, re-read, clients resync', async (t) => {
  // A plain (not compacted) topic: the broker refuses deleteRecords on compacted ones.
  const topic = await createTopic('offset-reset');
  await produce(
    topic,
    Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: '{"gen":1}' })),
  );
  const gw = await startHeldGateway(t, topic);
  const table = gw.ctx.cache.streams.get('totals')!.table!;
  assert.equal(table.size, 5);

  const sse = await openSse(`${gw.url}/v1/stream?streams=totals`, { t });
  const first = await sse.nextEvent();
  assert.equal(first.event, 'snapshot');

  // Hold the gateway at offset 5, then write 6..15 and delete everything before 12.
  const held = gw.gate.close();
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
  gw.gate.reopen();

  // The open stream showed data the topic no longer has: it is ended, and its id resyncs.
  await eventually('the topic is read again from its new start', () => {
    const keys = [...table.keys()].sort();
    return keys.join(',') === 'k12,k13,k14,k15';
  });
  const gen2 = { gen: 2 };
  await expectResync(t, gw, sse, first.id!, { k12: gen2, k13: gen2, k14: gen2, k15: gen2 });
  await expectReported(gw, new Map([[0, 6]]));

  // It goes on reading: a new record after the reset arrives on a fresh stream.
  const fresh = await openSse(`${gw.url}/v1/stream?streams=totals`, { t });
  assert.equal((await fresh.nextEvent()).event, 'snapshot');
  await produce(topic, [{ key: 'k16', value: '{"gen":3}' }]);
  const update = await fresh.waitFor((i) => i.kind === 'event' && i.event === 'update');
  assert.ok(update.kind === 'event' && update.data.includes('k16'));
});

/** A record the Java client wrote, with where it landed. */
type Written = JavaRecord & { partition: number; offset: number };

/** What a table holds after reading every record at or past each partition's log start. */
function survivors(
  written: readonly Written[],
  logStart: Readonly<Record<number, number>>,
): Map<string, Written> {
  const rows = new Map<string, Written>();
  const inLogOrder = [...written].sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  for (const w of inLogOrder) {
    if (w.offset < (logStart[w.partition] ?? 0)) continue;
    if (w.value === null) rows.delete(w.key!);
    else rows.set(w.key!, w);
  }
  return rows;
}

test('offsets out of range with the Java client writing and Admin.deleteRecords truncating: the cache holds exactly what the topic still has', async (t) => {
  const java = await startJavaProducer(t);
  const topic = await createTopic('offset-reset-java', { partitions: 3 });
  const written: Written[] = [];
  const write = async (records: JavaRecord[]): Promise<void> => {
    const at = await java.send(topic, records);
    for (const [i, r] of records.entries()) written.push({ ...r, ...at[i]! });
  };
  const row = (key: string, partition: number, gen: number): JavaRecord => ({
    key,
    partition,
    value: JSON.stringify({ key, gen }),
    headers: { origin: 'java-test', gen: String(gen), empty: null },
  });
  const gen = (keys: string, partition: number, g: number): JavaRecord[] =>
    keys.split(' ').map((k) => row(k, partition, g));

  // Read in full: partition 0 to offset 5, 1 to 4, 2 to 3.
  await write([...gen('a0 a1 a2 a3 a4', 0, 1), ...gen('b0 b1 b2 b3', 1, 1), ...gen('c0 c1 c2', 2, 1)]);
  const gw = await startHeldGateway(t, topic);
  assert.equal(cachedRows(gw).length, 12);
  const sse = await openSse(`${gw.url}/v1/stream?streams=totals`, { t });
  const first = await sse.nextEvent();
  assert.equal(first.event, 'snapshot');

  // Hold the gateway at partition 0 offset 5 (positions then 6, 4, 3), and write behind it: new
  // keys, a newer a0 and b1, a tombstone of a11.
  const held = gw.gate.close();
  await write([row('a5', 0, 1)]);
  assert.deepEqual(await held, [5]);
  await write([
    ...gen('a6 a7 a8 a9 a10 a11', 0, 2),
    { key: 'a11', partition: 0, value: null, headers: { origin: 'java-test' } },
    row('a0', 0, 2),
    ...gen('b4 b5 b6 b7', 1, 2),
    row('b1', 1, 2),
    ...gen('c3 c4', 2, 2),
  ]);
  // Partitions 0 and 1 lose records the gateway has not read (6..8, 4..5); partition 2 loses
  // only records it already holds (c0, c1), which must go from the cache all the same.
  const logStart = await java.deleteRecords(topic, { 0: 9, 1: 6, 2: 2 });
  assert.deepEqual(logStart, { 0: 9, 1: 6, 2: 2 });
  gw.gate.reopen();

  const expected = survivors(written, logStart);
  const expectedRows = [...expected.values()]
    .map((w) => `${w.key}@${w.partition}:${w.offset}=${w.value}`)
    .sort();
  assert.deepEqual(
    [...expected.keys()].sort(),
    ['a0', 'a10', 'a9', 'b1', 'b6', 'b7', 'c2', 'c3', 'c4'],
    'the test computes the survivors it means to',
  );
  await eventually(
    `the cache holding exactly ${expectedRows.join(' ')}`,
    () => cachedRows(gw).join(' ') === expectedRows.join(' '),
  ).catch((err: Error) => assert.fail(`${err.message}; it holds ${cachedRows(gw).join(' ')}`));
  await expectResync(
    t,
    gw,
    sse,
    first.id!,
    Object.fromEntries([...expected].map(([k, w]) => [k, JSON.parse(w.value!) as unknown])),
  );
  await expectReported(
    gw,
    new Map([
      [0, 6],
      [1, 4],
    ]),
  );
});
