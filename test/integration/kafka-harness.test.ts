/**
 * Proves the Kafka test harness against the real broker: topics, produce, consume back, and a
 * broker restart that keeps the data. Needs KAFKA_BROKERS and SWITCHYARD_KAFKA_STATE (`npm test`).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs, { type Admin } from 'kafkajs';
import { closeKafkaHelpers, createTopic, produce, restartBroker, testKafka } from '../helpers/kafka.ts';

// Only some kafkajs exports are visible as ESM named imports (cjs-module-lexer stops early);
// the rest, such as ConfigResourceTypes, must be read from the default (CommonJS) export.
const { ConfigResourceTypes } = kafkajs;

interface Received {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
  timestamp: string;
}

const kafka = testKafka({ clientId: 'kafka-harness-test' });

/** A running consumer (fresh group, from the beginning) that records every message it gets. */
async function startCollector(topic: string) {
  const consumer = kafka.consumer({
    groupId: `harness-${randomBytes(4).toString('hex')}`,
    maxWaitTimeInMs: 100,
  });
  const received: Received[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      received.push({
        partition,
        offset: message.offset,
        key: message.key?.toString() ?? null,
        value: message.value?.toString() ?? null,
        timestamp: message.timestamp,
      });
    },
  });
  return {
    received,
    /** Resolves once `count` messages arrived in total. */
    async waitFor(count: number, timeoutMs = 30_000): Promise<Received[]> {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) {
          throw new Error(`got ${received.length} of ${count} messages from ${topic} in ${timeoutMs} ms`);
        }
        await sleep(50);
      }
      return received;
    },
    stop: () => consumer.disconnect(),
  };
}

/** Reads `topic` from the beginning with a fresh consumer group until `count` messages arrived. */
async function consume(topic: string, count: number): Promise<Received[]> {
  const collector = await startCollector(topic);
  try {
    return await collector.waitFor(count);
  } finally {
    await collector.stop();
  }
}

const values = (messages: Received[]) => messages.map((m) => m.value).sort();

describe('kafka test harness', { timeout: 300_000 }, () => {
  after(closeKafkaHelpers);

  test('creates a 3-partition topic, produces and consumes back', async () => {
    const topic = await createTopic('harness', { partitions: 3 });
    assert.match(topic, /^harness-/);
    const { topics } = await admin((a) => a.fetchTopicMetadata({ topics: [topic] }));
    assert.equal(topics[0]?.partitions.length, 3);

    await produce(topic, [
      { key: 'a', value: 'p0', partition: 0, timestamp: 1_700_000_000_000 },
      { key: 'b', value: 'p1', partition: 1 },
      { key: 'c', value: 'p2', partition: 2 },
      { key: 'tomb', value: null, partition: 2 },
      { value: 'no-key', partition: 0 },
    ]);

    const received = await consume(topic, 5);
    assert.deepEqual(values(received), [null, 'no-key', 'p0', 'p1', 'p2'].sort());
    const byValue = new Map(received.map((m) => [m.value, m]));
    assert.equal(byValue.get('p0')?.partition, 0);
    assert.equal(byValue.get('p0')?.timestamp, '1700000000000');
    assert.equal(byValue.get('p1')?.partition, 1);
    assert.equal(byValue.get('p2')?.partition, 2);
    assert.equal(byValue.get('no-key')?.key, null);
    assert.equal(byValue.get(null)?.key, 'tomb');
  });

  test('creates compacted topics with unique names', async () => {
    const [first, second] = await Promise.all([
      createTopic('harness compacted!', { compacted: true }),
      createTopic('harness compacted!', { compacted: true }),
    ]);
    assert.notEqual(first, second);
    assert.match(first ?? '', /^harness-compacted--/);
    const described = await admin((a) =>
      a.describeConfigs({
        resources: [{ type: ConfigResourceTypes.TOPIC, name: first ?? '', configNames: ['cleanup.policy'] }],
        includeSynonyms: false,
      }),
    );
    assert.equal(described.resources[0]?.configEntries[0]?.configValue, 'compact');
  });

  test('keeps data across a broker restart; clients carry on', async (t) => {
    const topic = await createTopic('harness-restart', { partitions: 3 });
    const live = await startCollector(topic);
    try {
      const before = ['before-0', 'before-1', 'before-2'];
      await produce(
        topic,
        before.map((value, partition) => ({ key: value, value, partition })),
      );
      await live.waitFor(3);

      const restartStarted = Date.now();
      await restartBroker({ downMs: 500 });
      t.diagnostic(`broker restart took ${Date.now() - restartStarted} ms`);

      // The shared producer and the consumer that was running all along reconnect by themselves.
      await produce(topic, [
        { key: 'after-0', value: 'after-0', partition: 0 },
        { key: 'after-x', value: 'after-x' },
      ]);
      const all = [...before, 'after-0', 'after-x'].sort();
      const resumeStarted = Date.now();
      assert.deepEqual(values(await live.waitFor(5, 120_000)), all);
      t.diagnostic(
        `running consumer got the new messages ${Date.now() - resumeStarted} ms after the restart`,
      );

      // A fresh consumer finds the pre-restart data on disk.
      const received = await consume(topic, 5);
      assert.deepEqual(values(received), all);
      const partition0 = received.filter((m) => m.partition === 0).map((m) => m.offset);
      assert.deepEqual(partition0.sort(), ['0', '1']);
    } finally {
      await live.stop();
    }
  });
});

/** Runs `fn` with a short-lived admin client of this test file. */
async function admin<T>(fn: (a: Admin) => Promise<T>): Promise<T> {
  const a = kafka.admin();
  await a.connect();
  try {
    return await fn(a);
  } finally {
    await a.disconnect();
  }
}
