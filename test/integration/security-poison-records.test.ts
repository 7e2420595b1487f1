/**
 * Poison records against the real broker: topics mixing valid records with invalid JSON,
 * oversized values, schema violations, hostile keys (`__proto__`, `constructor.prototype`),
 * over-deep nesting and keyless table records. The cache ends up holding exactly the valid ones,
 * every reject is counted by reason and copied to the dead-letter topic with its coordinates,
 * nothing bad reaches a stream client, and the consumer keeps going after the poison.
 * Needs KAFKA_BROKERS (npm test starts the broker).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { GatewayContext } from '../../gateway/context.ts';
import { loadConfig } from '../../gateway/switchyard.ts';
import { closeKafkaHelpers, createTopic, kafkaBrokers, produce, type TestMessage } from '../helpers/kafka.ts';
import { startServedGateway } from '../helpers/served-gateway.ts';
import { openSse } from '../helpers/sse-client.ts';
import { pollUntil } from '../helpers/wait.ts';

const ORDER_SCHEMA = {
  type: 'object',
  required: ['id', 'amount'],
  properties: { id: { type: 'string', pattern: '^o-\\d+$' }, amount: { type: 'number', minimum: 0 } },
};
const TOTAL_SCHEMA = { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } };

const order = (n: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: `o-${n}`, amount: n, ...extra });
const deep = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);

/** Orders (feed, 2 partitions): each entry says whether it must be kept, and why not. */
function orderBatch(from: number): Array<TestMessage & { keep: string | null }> {
  return [
    { key: `k${from}`, value: order(from), partition: 0, keep: `o-${from}` },
    { key: 'bad-json', value: '{"id":"o-9999",', partition: 0, keep: null },
    { key: 'big', value: order(9998, { pad: 'x'.repeat(5000) }), partition: 1, keep: null },
    { key: 'schema', value: JSON.stringify({ id: 'x-1', amount: 1 }), partition: 1, keep: null },
    { key: 'schema2', value: JSON.stringify({ id: 'o-9997', amount: -4 }), partition: 0, keep: null },
    {
      key: 'proto',
      value: '{"id":"o-9996","amount":1,"__proto__":{"isAdmin":true}}',
      partition: 0,
      keep: null,
    },
    {
      key: 'proto-deep',
      value: '{"id":"o-9995","amount":1,"meta":[{"__proto__":{"x":1}}]}',
      partition: 1,
      keep: null,
    },
    {
      key: 'ctor',
      value: '{"id":"o-9994","amount":1,"constructor":{"prototype":{"x":1}}}',
      partition: 1,
      keep: null,
    },
    { key: 'deep', value: deep(40), partition: 0, keep: null },
    { key: 'not-json', value: '\u0000\u0001binary', partition: 1, keep: null },
    {
      key: `k${from + 1}`,
      value: order(from + 1, { note: 'line\r\nbreak', constructor: 'fine' }),
      partition: 1,
      keep: `o-${from + 1}`,
    },
    { key: `k${from + 2}`, value: order(from + 2), partition: 0, keep: `o-${from + 2}` },
  ];
}
const EXPECTED_ORDER_REJECTS: Record<string, number> = {
  invalid_json: 2,
  too_large: 1,
  schema: 2,
  hostile_key: 3,
  too_deep: 1,
};

describe('poison records from Kafka', { timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-poison-'));
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await closeKafkaHelpers();
  });

  test('only valid records reach the cache and the clients; rejects are counted and dead-lettered; the consumer keeps going', async (t) => {
    const ordersTopic = await createTopic('poison-orders', { partitions: 2 });
    // Not compacted: a compacted topic refuses keyless records at the broker already.
    const totalsTopic = await createTopic('poison-totals');
    const dlqTopic = await createTopic('poison-dlq');
    writeFileSync(join(dir, 'orders.json'), JSON.stringify(ORDER_SCHEMA));
    writeFileSync(join(dir, 'totals.json'), JSON.stringify(TOTAL_SCHEMA));

    const batch1 = orderBatch(1);
    await produce(ordersTopic, batch1);
    await produce(totalsTopic, [
      { key: 'fr', value: '{"n":1}' },
      { key: null, value: '{"n":2}' },
      { key: 'de', value: '{"n":"two"}' },
      { key: '__proto__', value: '{"n":3}' },
      { key: 'es', value: '{"n":4,"__proto__":{"polluted":true}}' },
      { key: 'it', value: '{"n":5}' },
      { key: 'it', value: null },
    ]);

    const config = loadConfig({
      LOG_LEVEL: 'silent',
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_CLIENT_ID: `poison-${randomBytes(3).toString('hex')}`,
      STREAMS: JSON.stringify([
        {
          name: 'orders',
          mode: 'feed',
          topic: ordersTopic,
          maxRecordBytes: 2048,
          schema: join(dir, 'orders.json'),
        },
        { name: 'totals', mode: 'table', topic: totalsTopic, schema: join(dir, 'totals.json') },
      ]),
      DLQ_TOPIC: dlqTopic,
      LEGACY_ROUTES: 'none',
      ROLLOUT_TOPIC: `poison-rollout-${randomBytes(3).toString('hex')}`,
    });
    const { ctx, server } = await startServedGateway(t, config);
    await waitFor(() => ctx.cache.isReady(), 'the bootstrap');

    assert.deepEqual(orderIds(ctx), keptIds(batch1), 'the feed holds exactly the valid orders');
    const totals = JSON.parse(ctx.cache.streams.get('totals')!.render()).entries;
    assert.deepEqual(
      Object.keys(totals).sort(),
      ['__proto__', 'fr'],
      'a __proto__ KEY is plain data; the rest were refused',
    );
    assert.deepEqual(totals.fr.value, { n: 1 });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(({} as Record<string, unknown>).isAdmin, undefined);

    // A client connected now sees only valid updates from a second poisoned batch.
    const client = await openSse(`${server.url}/v1/stream?streams=orders`, { t });
    assert.equal((await client.nextEvent()).event, 'snapshot');
    const batch2 = orderBatch(100);
    await produce(ordersTopic, batch2);
    const kept2 = keptIds(batch2);
    const received: string[] = [];
    while (received.length < kept2.length) {
      const ev = await client.nextEvent();
      assert.equal(ev.event, 'update');
      received.push(JSON.parse(ev.data).value.id);
    }
    assert.deepEqual(received.sort(), kept2);
    assert.deepEqual(orderIds(ctx), [...keptIds(batch1), ...kept2].sort(), 'the consumer kept going');
    for (const bad of ['o-9999', 'o-9998', 'x-1', 'o-9997', 'o-9996', 'o-9995', 'o-9994'])
      assert.equal(client.raw.includes(`"${bad}"`), false, `${bad} reached a client`);

    const rejected = await rejectedCounts(ctx);
    assert.deepEqual(
      rejected.orders,
      Object.fromEntries(Object.entries(EXPECTED_ORDER_REJECTS).map(([r, n]) => [r, 2 * n])),
    );
    assert.deepEqual(rejected.totals, { missing_key: 1, schema: 1, hostile_key: 1 });

    // Every reject is in the dead-letter topic, byte for byte, with its coordinates and reason.
    const total = Object.values(rejected)
      .flatMap((r) => Object.values(r))
      .reduce((a, b) => a + b, 0);
    const letters = await consumeAll(dlqTopic, total);
    const byReason: Record<string, number> = {};
    for (const l of letters)
      byReason[`${l.headers['switchyard-stream']}/${l.headers['switchyard-reason']}`] =
        (byReason[`${l.headers['switchyard-stream']}/${l.headers['switchyard-reason']}`] ?? 0) + 1;
    assert.equal(letters.length, total);
    assert.equal(byReason['orders/hostile_key'], 6);
    const proto = letters.find((l) => l.key === 'proto');
    assert.equal(proto?.value, batch1.find((m) => m.key === 'proto')!.value);
    assert.equal(proto?.headers['switchyard-topic'], ordersTopic);
    assert.equal(proto?.headers['switchyard-partition'], '0');
    assert.match(proto?.headers['switchyard-offset'] ?? '', /^\d+$/);
    const metrics = await ctx.metrics.render();
    assert.match(metrics, new RegExp(`switchyard_dead_letter_records_total\\{result="sent"\\} ${total}`));
  });
});

function orderIds(ctx: GatewayContext): string[] {
  const items = JSON.parse(ctx.cache.streams.get('orders')!.render()).items as Array<{
    value: { id: string };
  }>;
  return items.map((i) => i.value.id).sort();
}

function keptIds(batch: Array<{ keep: string | null }>): string[] {
  return batch.flatMap((m) => (m.keep === null ? [] : [m.keep])).sort();
}

async function rejectedCounts(ctx: GatewayContext): Promise<Record<string, Record<string, number>>> {
  const metric = await ctx.metrics.recordsRejected.get();
  const out: Record<string, Record<string, number>> = {};
  for (const v of metric.values) {
    const stream = String(v.labels.stream);
    out[stream] ??= {};
    out[stream][String(v.labels.reason)] = v.value;
  }
  return out;
}

/** Polls a condition (the broker's pace decides), failing with `what` after the guard. */
const waitFor = (cond: () => boolean | Promise<boolean>, what: string, guardMs = 60_000) =>
  pollUntil(what, cond, { timeoutMs: guardMs, intervalMs: 20 });

interface Letter {
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
}

/** Reads `topic` from the beginning until `count` messages arrived (waits as the DLQ flushes). */
async function consumeAll(topic: string, count: number): Promise<Letter[]> {
  const kafka = new Kafka({
    clientId: 'poison-dlq-reader',
    brokers: kafkaBrokers(),
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: `dlq-${randomBytes(4).toString('hex')}`, maxWaitTimeInMs: 100 });
  const letters: Letter[] = [];
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(
        () => fail(new Error(`got ${letters.length} of ${count} dead letters`)),
        60_000,
      );
      consumer
        .run({
          eachMessage: async ({ message }) => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
            letters.push({
              key: message.key?.toString() ?? null,
              value: message.value?.toString() ?? null,
              headers,
            });
            if (letters.length >= count) {
              clearTimeout(timer);
              done();
            }
          },
        })
        .catch(fail);
    });
  } finally {
    await consumer.disconnect();
  }
  return letters;
}
