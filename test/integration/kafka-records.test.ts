/**
 * Issue 13 (items 1-3) and issue 16 item 4 on the real broker, with records written by the
 * official Apache Kafka Java client (test/helpers/java-producer.ts), not by kafkajs: every
 * compression codec end to end, transactions (ready after a restart, lag 0, feeds full after
 * markers), one unreadable topic while two others keep delivering, and a topic deleted and
 * re-created while the gateway runs. Waits are on events or bounded condition checks.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { GatewayContext } from '../../gateway/context.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { KafkaSource } from '../../gateway/source/kafka-source.ts';
import { createGateway, loadConfig, startGateway } from '../../gateway/switchyard.ts';
import { type JavaProducer, type JavaRecord, startJavaProducer } from '../helpers/java-producer.ts';
import { closeKafkaHelpers, createTopic, kafkaBrokers, testKafka } from '../helpers/kafka.ts';
import { assertReadyWithin, serveGateway } from '../helpers/served-gateway.ts';
import {
  httpGet,
  openSse,
  type SseConnection,
  type SseEventItem,
  type Teardown,
} from '../helpers/sse-client.ts';
import { pollUntil } from '../helpers/wait.ts';

after(() => closeKafkaHelpers());

interface Gw {
  ctx: GatewayContext;
  url: string;
  stop(): Promise<void>;
}

/** A gateway on the real KafkaSource (probing every 300 ms), listening; stopped on teardown. */
async function gateway(
  t: Teardown,
  streams: unknown[],
  env: Record<string, string> = {},
  opts: { ready?: boolean } = {},
): Promise<Gw> {
  const config = loadConfig({
    KAFKA_BROKERS: kafkaBrokers().join(','),
    STREAMS: JSON.stringify(streams),
    HEARTBEAT_MS: '1000',
    RETRY_MS: '200',
    KAFKA_MAX_RETRY_MS: '1000',
    // Not a test of load shedding: a busy shared test machine must not turn streams into 503s.
    MAX_EVENT_LOOP_LAG_MS: '0',
    ...env,
  });
  const logger = createLogger((process.env.TEST_LOG_LEVEL as 'info' | undefined) ?? 'silent');
  const source = new KafkaSource({ ...config.kafka!, streams: config.streams, logger, probeIntervalMs: 300 });
  const ctx = createGateway(config, { logger, source });
  await startGateway(ctx);
  const { url, stop } = await serveGateway(t, ctx);
  if (opts.ready !== false) await assertReadyWithin(ctx, 30_000);
  return { ctx, url, stop };
}

/** Checks `pred` every 50 ms until it holds; fails after `ms`. */
const eventually = (what: string, pred: () => boolean | Promise<boolean>, ms = 20_000) =>
  pollUntil(what, pred, { timeoutMs: ms, intervalMs: 50 });

const json = (e: SseEventItem) => JSON.parse(e.data) as Record<string, unknown>;
const snapshotOf = async (url: string, streams: string) =>
  JSON.parse((await httpGet(`${url}/v1/snapshot?streams=${streams}`)).text) as {
    position: string;
    streams: Record<
      string,
      { entries?: Record<string, { value: unknown }>; items?: Array<{ key: string | null; value: unknown }> }
    >;
  };

async function metric(url: string, name: string, labels: string): Promise<number | null> {
  const text = (await httpGet(`${url}/metrics`)).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line === undefined ? null : Number(line.split(' ').pop());
}

/** The next n `update` events, each within `timeoutMs`. */
const takeUpdates = (sse: SseConnection, n: number, timeoutMs = 20_000) => sse.takeUpdates(n, timeoutMs);

const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;

describe('records written by the Java client', () => {
  let java: JavaProducer;
  test('setup: the Java producer starts', async (t) => {
    java = await startJavaProducer();
    t.after(() => {}); // closed by the last test
  });

  test('every codec end to end, 6 partitions and large batches, on polls and streams', async (t) => {
    const topics: Record<string, string> = {};
    for (const c of CODECS)
      if (c !== 'gzip') topics[c] = await createTopic(`rec-${c}`, { partitions: 6, compacted: true });
    const feed = await createTopic('rec-feed-lz4', { partitions: 2 });
    // One topic stamps records with the broker's clock (LogAppendTime).
    const admin = testKafka().admin();
    await admin.connect();
    topics.gzip = `rec-gzip-logappend-${Date.now()}`;
    await admin.createTopics({
      topics: [
        {
          topic: topics.gzip,
          numPartitions: 6,
          configEntries: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'message.timestamp.type', value: 'LogAppendTime' },
          ],
        },
      ],
    });
    await admin.disconnect();
    await java.send(topics.gzip!, [{ key: 'k0', value: '{"warmup":true}', partition: 5 }]); // waits for leaders
    const big = 'x'.repeat(400);
    for (const c of CODECS) {
      const records: JavaRecord[] = Array.from({ length: 600 }, (_, i) => ({
        key: `k${i}`,
        value: JSON.stringify({ codec: c, i, big }),
        headers: { source: 'java', trace: `t-${i}` },
      }));
      records.push({ key: 'k0', value: null }); // tombstone
      await java.send(topics[c]!, records, { compression: c, batchSize: 512 * 1024, lingerMs: 50 });
    }
    await java.send(
      feed,
      Array.from({ length: 20 }, (_, i) => ({
        key: null,
        value: JSON.stringify({ n: i }),
        partition: i % 2,
      })),
      { compression: 'lz4' },
    );
    const streams: unknown[] = CODECS.map((c) => ({ name: `t_${c}`, topic: topics[c], mode: 'table' }));
    streams.push({ name: 'f_lz4', topic: feed, mode: 'feed', maxItems: 8 });
    const g = await gateway(t, streams);
    const names = [...CODECS.map((c) => `t_${c}`), 'f_lz4'].join(',');
    const snap = await snapshotOf(g.url, names);
    for (const c of CODECS) {
      const entries = snap.streams[`t_${c}`]!.entries!;
      assert.equal(Object.keys(entries).length, 599, `${c}: 600 keys, one deleted`);
      assert.equal(Object.hasOwn(entries, 'k0'), false);
      assert.deepEqual(entries.k599!.value, { codec: c, i: 599, big });
    }
    const items = snap.streams.f_lz4!.items!;
    assert.equal(items.length, 8);
    assert.ok(items.every((x) => x.key === null));
    const sse = await openSse(`${g.url}/v1/stream?streams=${names}`, { t });
    assert.equal(sse.status, 200);
    assert.equal((await sse.nextEvent()).event, 'snapshot');
    for (const c of CODECS)
      await java.send(topics[c]!, [{ key: 'live', value: JSON.stringify({ codec: c }) }], { compression: c });
    const got = await takeUpdates(sse, CODECS.length);
    assert.deepEqual(got.map((e) => (json(e).value as { codec: string }).codec).sort(), [...CODECS].sort());
    // LogAppendTime: createdAt is the broker's clock, close to now.
    const gz = got.find((e) => json(e).stream === 't_gzip')!;
    assert.ok(Math.abs((json(gz).createdAt as number) - Date.now()) < 60_000);
  });

  test('transactions: ready within 10 s after a restart, lag 0, same snapshot; feeds full after markers', async (t) => {
    const table = await createTopic('tx-table', { partitions: 6, compacted: true });
    const feed = await createTopic('tx-feed', { partitions: 1 });
    const tx = `tx-${Date.now()}`;
    const rec = (prefix: string, n: number, v: number) =>
      Array.from({ length: n }, (_, i) => ({ key: `${prefix}${i}`, value: JSON.stringify({ v }) }));
    await java.send(table, rec('a', 60, 1), {
      transactionalId: tx,
      transaction: 'commit',
      compression: 'zstd',
    });
    await java.send(table, rec('bad', 30, 0), {
      transactionalId: tx,
      transaction: 'abort',
      compression: 'zstd',
    });
    await java.send(table, rec('a', 60, 2), {
      transactionalId: tx,
      transaction: 'commit',
      compression: 'zstd',
    });
    // A feed where every item is followed by a marker, ending with an aborted transaction:
    // its last maxItems offsets hold fewer than maxItems items.
    for (let i = 0; i < 12; i++)
      await java.send(feed, [{ key: `e${i}`, value: JSON.stringify({ i }) }], {
        transactionalId: `${tx}-f`,
        transaction: 'commit',
        compression: 'snappy',
      });
    await java.send(feed, [{ key: 'aborted', value: '{}' }], {
      transactionalId: `${tx}-f`,
      transaction: 'abort',
    });
    const streams = [
      { name: 'totals', topic: table, mode: 'table' },
      { name: 'events', topic: feed, mode: 'feed', maxItems: 5 },
    ];
    const check = async (g: Gw) => {
      const snap = await snapshotOf(g.url, 'events,totals');
      const entries = snap.streams.totals!.entries!;
      assert.equal(Object.keys(entries).length, 60);
      assert.ok(
        Object.keys(entries).every((k) => k.startsWith('a')),
        'aborted records are hidden',
      );
      assert.ok(Object.values(entries).every((e) => (e.value as { v: number }).v === 2));
      assert.deepEqual(
        snap.streams.events!.items!.map((x) => x.key),
        ['e7', 'e8', 'e9', 'e10', 'e11'],
        'maxItems items, although markers fill the last offsets',
      );
      for (const s of ['totals', 'events'])
        await eventually(
          `lag 0 on ${s}`,
          async () => (await metric(g.url, 'switchyard_consumer_lag_records', `stream="${s}"`)) === 0,
        );
      return snap;
    };
    const started1 = Date.now();
    const g1 = await gateway(t, streams, {}, { ready: false });
    assert.ok(await g1.ctx.hub.waitUntil(() => g1.ctx.cache.isReady(), 10_000), 'ready within 10 s');
    const first = await check(g1);
    t.diagnostic(`first start ready in ${Date.now() - started1} ms`);
    await g1.stop();
    const started2 = Date.now();
    const g2 = await gateway(t, streams, {}, { ready: false });
    assert.ok(
      await g2.ctx.hub.waitUntil(() => g2.ctx.cache.isReady(), 10_000),
      'ready within 10 s after a restart',
    );
    t.diagnostic(`restart ready in ${Date.now() - started2} ms`);
    const second = await check(g2);
    assert.deepEqual(second, first, 'same snapshot and position after the restart');
    // While running: a committed transaction arrives, an aborted one does not, lag returns to 0.
    const sse = await openSse(`${g2.url}/v1/stream?streams=totals`, { t });
    await sse.nextEvent();
    await java.send(table, [{ key: 'bad-live', value: '{}' }], { transactionalId: tx, transaction: 'abort' });
    await java.send(table, [{ key: 'a0', value: '{"v":3}' }], { transactionalId: tx, transaction: 'commit' });
    const [u] = await takeUpdates(sse, 1);
    assert.equal(json(u!).key, 'a0');
    await eventually(
      'lag 0 after the live transaction',
      async () => (await metric(g2.url, 'switchyard_consumer_lag_records', 'stream="totals"')) === 0,
    );
  });

  test('one unreadable topic (a refused codec) while two others deliver with no gap; it recovers', async (t) => {
    const [a, b, c] = [await createTopic('iso-a'), await createTopic('iso-b'), await createTopic('iso-c')];
    const g = await gateway(
      t,
      [
        { name: 'a', topic: a, mode: 'feed', maxItems: 1000 },
        { name: 'b', topic: b, mode: 'feed', maxItems: 1000 },
        { name: 'c', topic: c, mode: 'feed', maxItems: 1000 },
      ],
      { KAFKA_CODECS: 'gzip,snappy,lz4' },
    );
    const sse = await openSse(`${g.url}/v1/stream?streams=a,b,c`, { t });
    await sse.nextEvent();
    const seqs: Record<string, number[]> = { a: [], b: [] };
    let n = 0;
    const send = async () => {
      n++;
      await Promise.all([
        java.send(a, [{ key: `a${n}`, value: JSON.stringify({ n }) }], { compression: 'gzip' }),
        java.send(b, [{ key: `b${n}`, value: JSON.stringify({ n }) }]),
      ]);
    };
    await send();
    await java.send(c, [{ key: 'poison', value: '{"z":1}' }], { compression: 'zstd' });
    // Whatever comes in meanwhile, a and b keep flowing while c is stale.
    const status = (await sse.waitFor((i) => {
      if (i.kind !== 'event') return false;
      if (i.event === 'update') {
        const u = JSON.parse(i.data) as { stream: string; value: { n: number } };
        seqs[u.stream]?.push(u.value.n);
      }
      // A lag that does not move may be reported first (`stalled`), before the fetch error says why.
      const streams =
        i.event === 'status'
          ? (JSON.parse(i.data) as { streams: Record<string, { reason: string }> }).streams
          : {};
      return streams.c?.reason === 'codec_refused';
    })) as SseEventItem;
    const detail = (json(status).streams as Record<string, { reason: string }>).c!;
    assert.equal(detail.reason, 'codec_refused');
    const ready = JSON.parse((await httpGet(`${g.url}/readyz`)).text) as {
      stale: boolean;
      staleStreams: Array<{ stream: string; reason: string }>;
    };
    assert.equal(ready.stale, false, 'the source as a whole is fresh');
    assert.deepEqual(
      ready.staleStreams.map((s) => [s.stream, s.reason]),
      [['c', 'codec_refused']],
    );
    assert.equal(await metric(g.url, 'switchyard_stream_stale', 'stream="c",reason="codec_refused"'), 1);
    const pollC = await httpGet(`${g.url}/v1/snapshot?streams=a,c`);
    assert.equal(pollC.headers['x-switchyard-stale-streams'], 'c:codec_refused');
    assert.ok(Number(pollC.headers['x-switchyard-stale']) >= 0);
    const pollA = await httpGet(`${g.url}/v1/snapshot?streams=a,b`);
    assert.equal(pollA.headers['x-switchyard-stale-streams'], undefined, 'a and b are fresh');
    assert.equal(pollA.headers['x-switchyard-stale'], undefined);
    assert.equal(await metric(g.url, 'switchyard_stream_stale', 'stream="a",reason="none"'), 0);
    for (let i = 0; i < 10; i++) await send();
    await eventually('a and b delivered everything', async () => {
      for (const item of sse.pending)
        if (item.kind === 'event' && item.event === 'update') {
          const u = JSON.parse(item.data) as { stream: string; value: { n: number } };
          if (!seqs[u.stream]?.includes(u.value.n)) seqs[u.stream]?.push(u.value.n);
        }
      return seqs.a!.length === n && seqs.b!.length === n;
    });
    const upTo = Array.from({ length: n }, (_, i) => i + 1);
    assert.deepEqual(seqs.a, upTo, 'a: no gap, in order');
    assert.deepEqual(seqs.b, upTo, 'b: no gap, in order');
    // The cause goes: the poison batch is deleted, and c is written in a codec the gateway reads.
    const admin = testKafka().admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    await admin.fetchTopicMetadata({ topics: [c] }); // deleteTopicRecords needs it loaded
    await admin.deleteTopicRecords({ topic: c, partitions: [{ partition: 0, offset: '-1' }] });
    await java.send(c, [{ key: 'fine', value: '{"ok":true}' }], { compression: 'lz4' });
    await eventually('c reads again', () => g.ctx.cache.streams.get('c')!.feed!.size === 1);
    await eventually('c no longer stale', async () => {
      const r = JSON.parse((await httpGet(`${g.url}/readyz`)).text) as { staleStreams: unknown[] };
      return r.staleStreams.length === 0;
    });
  });

  test('a topic deleted and re-created while running is noticed, re-read, and its clients resync', async (t) => {
    const table = await createTopic('recreate', { partitions: 2, compacted: true });
    const other = await createTopic('recreate-other');
    for (let i = 0; i < 10; i++) await java.send(table, [{ key: `old${i}`, value: '{"gen":1}' }]);
    const g = await gateway(t, [
      { name: 'totals', topic: table, mode: 'table' },
      { name: 'other', topic: other, mode: 'feed', maxItems: 100 },
    ]);
    const sse = await openSse(`${g.url}/v1/stream?streams=totals`, { t });
    const first = await sse.nextEvent();
    assert.equal(first.event, 'snapshot');
    const admin = testKafka().admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    await admin.deleteTopics({ topics: [table] });
    await eventually('the topic is reported missing', async () => {
      const r = JSON.parse((await httpGet(`${g.url}/readyz`)).text) as {
        staleStreams: Array<{ reason: string }>;
      };
      return r.staleStreams.some((s) => s.reason === 'topic_missing');
    });
    // Created once, then waited on: a create whose wait for leaders timed out (a loaded broker)
    // has still created the topic, and asking again would only ever hear "already exists".
    await eventually(
      'the topic is created again with leaders on both partitions',
      async () => {
        await admin
          .createTopics({
            topics: [
              {
                topic: table,
                numPartitions: 2,
                configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
              },
            ],
            waitForLeaders: true,
          })
          .catch(() => false);
        const meta = await admin.fetchTopicMetadata({ topics: [table] }).catch(() => null);
        const partitions = meta?.topics[0]?.partitions ?? [];
        return partitions.length === 2 && partitions.every((p) => p.leader >= 0);
      },
      30_000,
    );
    for (let i = 0; i < 3; i++) await java.send(table, [{ key: `new${i}`, value: '{"gen":2}' }]);
    // The open stream is ended; resuming from its last id gets a resync with the new data only.
    await sse.closed;
    await eventually('the new records are read', () => g.ctx.cache.streams.get('totals')!.table!.size === 3);
    const resumed = await openSse(`${g.url}/v1/stream?streams=totals`, {
      t,
      headers: { 'last-event-id': first.id! },
    });
    const resync = await resumed.nextEvent();
    assert.equal(resync.event, 'snapshot');
    assert.equal(json(resync).resync, true);
    assert.equal(json(resync).reason, 'lineage', 'an id of the old topic: another lineage (issue 17)');
    const entries = (json(resync).streams as { totals: { entries: object } }).totals.entries;
    assert.deepEqual(Object.keys(entries).sort(), ['new0', 'new1', 'new2']);
    await eventually('no longer stale once re-read', async () => {
      const r = JSON.parse((await httpGet(`${g.url}/readyz`)).text) as {
        staleStreams: unknown[];
        ready: boolean;
      };
      return r.staleStreams.length === 0 && r.ready;
    });
    // The other stream was never disturbed.
    await java.send(other, [{ key: 'o', value: '{"still":true}' }]);
    await eventually('the other stream reads', () => g.ctx.cache.streams.get('other')!.feed!.size === 1);
  });

  test('teardown: the Java producer stops', async () => {
    await java.close();
  });
});
