/**
 * Schema Registry formats end to end, against the real broker and a real registry (Apicurio
 * Registry, started by npm test), with records written by Apicurio's own Kafka serializers
 * (test/helpers/java/RegistryProducer.java), configured for the Confluent wire format:
 * Avro (values and keys), Protobuf (a message that is not the first of its file) and JSON Schema
 * are decoded and served by poll and SSE; a new schema version is picked up; an unknown schema
 * id is skipped, counted and dead-lettered; while the registry is down, records whose schema is
 * cached keep flowing and only the others are skipped.
 * Needs KAFKA_BROKERS and SWITCHYARD_SCHEMA_REGISTRY_URL (npm test starts both).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import type { GatewayContext } from '../../gateway/context.ts';
import { frame } from '../../gateway/formats/wire.ts';
import { loadConfig } from '../../gateway/switchyard.ts';
import { closeKafkaHelpers, createTopic, kafkaBrokers } from '../helpers/kafka.ts';
import {
  produceWithApicurio,
  registerSchema,
  registryUrl,
  startTestRegistry,
  stopTestRegistry,
} from '../helpers/schema-registry.ts';
import { startServedGateway } from '../helpers/served-gateway.ts';
import { httpGet, openSse } from '../helpers/sse-client.ts';
import { pollUntil } from '../helpers/wait.ts';

const TRADE_V1 = {
  type: 'record',
  name: 'Trade',
  namespace: 'switchyard.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'qty', type: 'long' },
    { name: 'price', type: 'double' },
    { name: 'raw', type: 'bytes' },
  ],
};
/** v2 adds a field with a default: a backward-compatible change, as registries allow by default. */
const TRADE_V2 = {
  ...TRADE_V1,
  fields: [...TRADE_V1.fields, { name: 'venue', type: 'string', default: 'XNYS' }],
};
const TRADE_KEY = '"string"';
// Quote is the second message of the file: its framing carries message indexes [1].
const QUOTE_PROTO = `syntax = "proto3";
package switchyard.test;

message Venue {
  string code = 1;
}

message Quote {
  string symbol = 1;
  int64 price_micros = 2;
  Side side = 3;
  repeated string tags = 4;
  enum Side {
    BUY = 0;
    SELL = 1;
  }
}
`;
const STOCK_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  required: ['sku', 'count'],
  properties: { sku: { type: 'string' }, count: { type: 'integer', minimum: 0 } },
};

describe('Schema Registry formats (real Apicurio Registry, Apicurio serializers)', {
  timeout: 300_000,
}, () => {
  after(async () => {
    await closeKafkaHelpers();
  });

  test('avro, protobuf and jsonschema records are decoded and served; schema changes, unknown ids and a registry outage', async (t) => {
    const trades = await createTopic('sr-trades');
    const quotes = await createTopic('sr-quotes');
    const stock = await createTopic('sr-stock');
    const dlq = await createTopic('sr-dlq');
    const tradeV1 = JSON.stringify(TRADE_V1);
    await registerSchema(`${trades}-key`, TRADE_KEY, 'AVRO');
    const tradeV1Id = await registerSchema(`${trades}-value`, tradeV1, 'AVRO');
    await registerSchema(`${quotes}-value`, QUOTE_PROTO, 'PROTOBUF');
    await registerSchema(`${stock}-value`, JSON.stringify(STOCK_SCHEMA), 'JSON');

    await produceWithApicurio([
      {
        topic: trades,
        format: 'avro',
        schema: tradeV1,
        keyFormat: 'avro',
        keySchema: TRADE_KEY,
        records: [
          { key: 't1', value: { id: 't1', qty: 10, price: 101.25, raw: '\u0001\u00ff' } },
          { key: 't2', value: { id: 't2', qty: 9_007_199_254_740_991, price: -0.5, raw: '' } },
        ],
      },
      {
        topic: quotes,
        format: 'protobuf',
        schema: QUOTE_PROTO,
        messageName: 'Quote',
        records: [
          { key: 'q1', value: { symbol: 'ACME', priceMicros: '1234567', side: 'SELL', tags: ['a', 'b'] } },
          { key: 'q2', value: { symbol: 'INIT', priceMicros: '0' } },
        ],
      },
      {
        topic: stock,
        format: 'jsonschema',
        schema: JSON.stringify(STOCK_SCHEMA),
        records: [{ key: 's1', value: { sku: 'bolt', count: 40 } }],
      },
    ]);

    const config = loadConfig({
      LOG_LEVEL: 'silent',
      KAFKA_BROKERS: kafkaBrokers().join(','),
      KAFKA_CLIENT_ID: `sr-${randomBytes(3).toString('hex')}`,
      STREAMS: JSON.stringify([
        { name: 'trades', mode: 'table', topic: trades, format: 'avro', keyFormat: 'avro' },
        { name: 'quotes', mode: 'feed', topic: quotes, format: 'protobuf' },
        { name: 'stock', mode: 'table', topic: stock, format: 'jsonschema' },
      ]),
      SCHEMA_REGISTRY_URL: registryUrl(),
      SCHEMA_REGISTRY_TIMEOUT_MS: '2000',
      DLQ_TOPIC: dlq,
      LEGACY_ROUTES: 'none',
      ROLLOUT_TOPIC: `sr-rollout-${randomBytes(3).toString('hex')}`,
    });
    const { ctx, server } = await startServedGateway(t, config);
    await waitFor(() => ctx.cache.isReady(), 'the bootstrap');

    // --- Decoded and served by poll -------------------------------------------------------
    const poll = await httpGet(`${server.url}/v1/snapshot?streams=trades,quotes,stock`);
    assert.equal(poll.status, 200);
    const body = JSON.parse(poll.text) as {
      streams: Record<
        string,
        { entries?: Record<string, { value: unknown }>; items?: Array<{ value: unknown }> }
      >;
    };
    assert.deepEqual(body.streams.trades?.entries?.t1?.value, {
      id: 't1',
      qty: 10,
      price: 101.25,
      raw: 'Af8=',
    });
    assert.deepEqual(body.streams.trades?.entries?.t2?.value, {
      id: 't2',
      qty: 9_007_199_254_740_991,
      price: -0.5,
      raw: '',
    });
    assert.deepEqual(
      body.streams.quotes?.items?.map((i) => i.value),
      [
        { symbol: 'ACME', priceMicros: '1234567', side: 'SELL', tags: ['a', 'b'] },
        // proto3 leaves zero values off the wire; they are served as their defaults.
        { symbol: 'INIT', priceMicros: '0', side: 'BUY', tags: [] },
      ],
    );
    assert.deepEqual(body.streams.stock?.entries?.s1?.value, { sku: 'bolt', count: 40 });

    // --- ... and by SSE; a new schema version is picked up --------------------------------
    const client = await openSse(`${server.url}/v1/stream?streams=trades`, { t });
    const snapshot = await client.nextEvent();
    assert.equal(snapshot.event, 'snapshot');
    assert.deepEqual(JSON.parse(snapshot.data).streams.trades.entries.t1.value.qty, 10);
    const tradeV2 = JSON.stringify(TRADE_V2);
    const tradeV2Id = await registerSchema(`${trades}-value`, tradeV2, 'AVRO');
    assert.notEqual(tradeV2Id, tradeV1Id);
    await produceWithApicurio([
      {
        topic: trades,
        format: 'avro',
        schema: tradeV2,
        keyFormat: 'avro',
        keySchema: TRADE_KEY,
        records: [{ key: 't3', value: { id: 't3', qty: 1, price: 2, raw: '', venue: 'XLON' } }],
      },
    ]);
    const update = await client.nextEvent();
    assert.equal(update.event, 'update');
    const updated = JSON.parse(update.data);
    assert.equal(updated.key, 't3');
    assert.deepEqual(updated.value, { id: 't3', qty: 1, price: 2, raw: '', venue: 'XLON' });

    // --- An unknown schema id is skipped, counted and dead-lettered -----------------------
    const v1Record = await firstRawValue(trades);
    const unknownId = 999_999;
    const avroPayload = v1Record.subarray(5);
    const tradeKey = await firstRawKey(trades);
    await produceRaw(trades, [
      { key: tradeKey, value: frame(unknownId, avroPayload) },
      { key: tradeKey, value: Buffer.from('{"id":"plain json"}') },
    ]);
    await waitFor(
      async () => (await rejected(ctx, 'trades', 'unknown_schema')) === 1,
      'the unknown id to be counted',
    );
    await waitFor(
      async () => (await rejected(ctx, 'trades', 'not_framed')) === 1,
      'the unframed value to be counted',
    );
    assert.equal(ctx.cache.streams.get('trades')!.render().includes('"plain json"'), false);

    // --- Registry outage: cached schemas keep flowing -------------------------------------
    await stopTestRegistry();
    t.after(() => startTestRegistry());
    const keyBytes = tradeKey;
    await produceRaw(trades, [
      // Same framed key and value bytes as t1 (cached schema ids): served during the outage.
      { key: keyBytes, value: v1Record },
      // An id the gateway never saw: cannot be fetched now.
      { key: keyBytes, value: frame(tradeV2Id + 1000, avroPayload) },
    ]);
    await waitFor(
      async () => (await rejected(ctx, 'trades', 'registry_unavailable')) === 1,
      'the uncached id to be counted',
    );
    const outageUpdate = await client.nextEvent();
    assert.equal(outageUpdate.event, 'update');
    assert.equal(
      JSON.parse(outageUpdate.data).key,
      't1',
      'a record with a cached schema, decoded while the registry is down',
    );

    const letters = await readTopic(dlq, 3);
    assert.deepEqual(letters.map((l) => l.reason).sort(), [
      'not_framed',
      'registry_unavailable',
      'unknown_schema',
    ]);
    const metrics = await ctx.metrics.render();
    assert.match(metrics, /switchyard_records_rejected_total\{stream="trades",reason="unknown_schema"\} 1/);
  });
});

async function rejected(ctx: GatewayContext, stream: string, reason: string): Promise<number> {
  const metric = await ctx.metrics.recordsRejected.get();
  return metric.values.find((v) => v.labels.stream === stream && v.labels.reason === reason)?.value ?? 0;
}

/** Polls a condition (the broker's pace decides), failing with `what` after the guard. */
const waitFor = (cond: () => boolean | Promise<boolean>, what: string, guardMs = 60_000) =>
  pollUntil(what, cond, { timeoutMs: guardMs, intervalMs: 20 });

function testClient(): Kafka {
  return new Kafka({ clientId: 'sr-test', brokers: kafkaBrokers(), logLevel: logLevel.NOTHING });
}

/** The raw bytes of the first record of `topic` (as the Java serializer wrote them). */
async function firstRaw(topic: string): Promise<{ key: Buffer; value: Buffer }> {
  const consumer = testClient().consumer({ groupId: `sr-raw-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    return await new Promise((done) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          if (message.key && message.value)
            done({ key: Buffer.from(message.key), value: Buffer.from(message.value) });
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}
async function firstRawValue(topic: string): Promise<Buffer> {
  return (await firstRaw(topic)).value;
}
async function firstRawKey(topic: string): Promise<Buffer> {
  return (await firstRaw(topic)).key;
}

async function produceRaw(topic: string, messages: Array<{ key: Buffer; value: Buffer }>): Promise<void> {
  const producer = testClient().producer();
  await producer.connect();
  try {
    await producer.send({ topic, messages });
  } finally {
    await producer.disconnect();
  }
}

/** Reads `count` dead letters of `topic` from the beginning: their reason headers. */
async function readTopic(topic: string, count: number): Promise<Array<{ reason: string }>> {
  const consumer = testClient().consumer({
    groupId: `sr-dlq-${randomBytes(4).toString('hex')}`,
    maxWaitTimeInMs: 100,
  });
  const out: Array<{ reason: string }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((done) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          out.push({ reason: String(message.headers?.['switchyard-reason'] ?? '') });
          if (out.length >= count) done();
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return out;
}
