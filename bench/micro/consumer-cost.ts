/**
 * What one consumer per topic costs (KafkaSource isolates topics that way): runs the gateway's
 * KafkaSource on N fresh one-partition topics against a running broker, waits until every topic
 * is planned and fetching, and prints open TCP sockets, heap and RSS per topic, for a few N.
 *
 *   KAFKA_BROKERS=127.0.0.1:9092 node --expose-gc --import tsx bench/micro/consumer-cost.ts [--topics 1,8,32]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { SnapshotCache } from '../../gateway/cache/snapshot-cache.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { KafkaSource } from '../../gateway/source/kafka-source.ts';
import { loadConfig } from '../../gateway/switchyard.ts';

const { values } = parseArgs({ options: { topics: { type: 'string', default: '1,8,32' } } });
const brokers = (process.env.KAFKA_BROKERS ?? '').split(',').filter(Boolean);
if (brokers.length === 0) throw new Error('set KAFKA_BROKERS (npm run kafka -- start prints it)');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
const mb = (n: number) => (n / 1024 / 1024).toFixed(1);

const admin = new Kafka({ brokers, clientId: 'bench', logLevel: logLevel.NOTHING }).admin();
await admin.connect();
const rows: string[] = [];
for (const n of values.topics.split(',').map(Number)) {
  const run = randomBytes(3).toString('hex');
  const topics = Array.from({ length: n }, (_, i) => `bench-cost-${run}-${i}`);
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions: 1 })),
    waitForLeaders: true,
  });
  gc();
  const base = { sockets: sockets(), heap: process.memoryUsage().heapUsed, rss: process.memoryUsage().rss };
  const { streams } = loadConfig({
    KAFKA_BROKERS: brokers.join(','),
    STREAMS: topics.map((t, i) => `s${i}:feed:${t}`).join(','),
  });
  const cache = new SnapshotCache({ streams, historySize: 100 });
  const source = new KafkaSource({
    brokers,
    clientId: 'bench-cost',
    streams,
    logger: createLogger('silent'),
    connectTimeoutMs: 3000,
    maxRetryMs: 2000,
  });
  await source.start(cache);
  const deadline = Date.now() + 120_000;
  while (!(cache.isReady() && source.status().connected) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 200));
  await new Promise((r) => setTimeout(r, 3000)); // every consumer past its join, fetching
  gc();
  const m = process.memoryUsage();
  const s = sockets() - base.sockets;
  rows.push(
    `| ${n} | ${s} | ${(s / n).toFixed(1)} | ${mb(m.heapUsed - base.heap)} | ${((m.heapUsed - base.heap) / n / 1024).toFixed(0)} | ${mb(m.rss - base.rss)} |`,
  );
  await source.stop();
  await admin.deleteTopics({ topics });
}
await admin.disconnect();
console.log('| topics | sockets | sockets/topic | heap MB | heap KB/topic | RSS MB |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(r);
