/**
 * The Kafka side of the demo: creates the demo topics (orders: a feed over 3 partitions;
 * totals: a compacted table) and produces live-map orders and per-country totals at DEMO_RATE
 * per second until stopped. `node --import tsx scripts/demo-producer.ts` with KAFKA_BROKERS set.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { DEMO_STREAMS } from '../gateway/config/load.ts';
import { parseStreamsSpec } from '../gateway/config/streams.ts';
import { LiveMapGenerator } from '../gateway/source/demo-live-map.ts';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
if (brokers.length === 0) {
  process.stderr.write('demo-producer: set KAFKA_BROKERS (host:port)\n');
  process.exit(2);
}
const rate = Number(process.env.DEMO_RATE ?? 20);
const [orders, totals] = (parseStreamsSpec(DEMO_STREAMS) as Array<{ topic: string }>).map((s) => s.topic) as [
  string,
  string,
];

const kafka = new Kafka({ clientId: 'switchyard-demo-producer', brokers, logLevel: logLevel.WARN });
const admin = kafka.admin();
await admin.connect();
const existing = new Set(await admin.listTopics());
const wanted = [
  { topic: orders, numPartitions: 3 },
  { topic: totals, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
].filter((t) => !existing.has(t.topic));
if (wanted.length > 0) await admin.createTopics({ topics: wanted, waitForLeaders: true });
await admin.disconnect();

const producer = kafka.producer({
  createPartitioner: Partitioners.DefaultPartitioner,
  idempotent: true,
  maxInFlightRequests: 1,
});
await producer.connect();
const generator = new LiveMapGenerator();
let carry = 0;
let stopping = false;
const tickMs = 50;
process.stderr.write(`demo-producer: ${rate} orders/s to ${orders} and ${totals}\n`);
const timer = setInterval(() => {
  carry += (rate * tickMs) / 1000;
  const n = Math.floor(carry);
  carry -= n;
  if (n === 0 || stopping) return;
  const now = Date.now();
  const batch = Array.from({ length: n }, () => generator.next(now));
  producer
    .sendBatch({
      topicMessages: [
        {
          topic: orders,
          messages: batch.map(({ order }) => ({
            key: order.id,
            value: JSON.stringify(order),
            timestamp: String(now),
          })),
        },
        {
          topic: totals,
          messages: batch.map(({ total }) => ({
            key: total.country,
            value: JSON.stringify(total),
            timestamp: String(now),
          })),
        },
      ],
    })
    .catch((err: unknown) => process.stderr.write(`demo-producer: send failed: ${(err as Error).message}\n`));
}, tickMs);

const stop = async () => {
  stopping = true;
  clearInterval(timer);
  await producer.disconnect().catch(() => {});
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
