import type { ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, spawnTracked, stopChild, waitForHttp } from '../lib/children.ts';
import { processTree } from '../lib/proc.ts';
import { KafkaSink } from '../load/publisher.ts';
import type { RunningSystem } from './types.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The one stream of every bench gateway: live-map orders, a feed. */
export const BENCH_STREAM = 'orders';

export interface SwitchyardOptions {
  brokers: readonly string[];
  /** Working dir of the run (logs, profiles). */
  dir: string;
  /** Phase name, for the topic and log file. */
  phase: string;
  /** WORKERS (`--workers N`, node:cluster), when the gateway supports it; default 1. */
  workers?: number;
  /** Newest items the feed keeps (the snapshot size). */
  maxItems?: number;
  /** Extra env for the gateway (`--gateway-env K=V`). */
  env?: Record<string, string>;
  /** Extra node flags (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
}

/** Creates a fresh one-partition topic; returns a function that deletes it. */
async function freshTopic(brokers: readonly string[], topic: string): Promise<() => Promise<void>> {
  const kafka = new Kafka({
    clientId: 'switchyard-bench-admin',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
    waitForLeaders: true,
  });
  return async () => {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect().catch(() => {});
  };
}

/**
 * Starts `gateway/main.ts` on a fresh topic, consuming from the run's Kafka broker, and waits
 * for /readyz. The publisher's sink produces to that topic.
 */
export async function startSwitchyard(o: SwitchyardOptions): Promise<RunningSystem> {
  const topic = `bench.${o.phase}.${Date.now().toString(36)}`;
  const dropTopic = await freshTopic(o.brokers, topic);
  const port = await freePort();
  const log = openSync(join(o.dir, `switchyard-${o.phase}.log`), 'a');
  const streams = [{ name: BENCH_STREAM, topic, mode: 'feed', maxItems: o.maxItems ?? 100 }];
  const args = [...(o.nodeArgs ?? []), '--import', 'tsx', 'gateway/main.ts'];
  const child: ChildProcess = spawnTracked(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      KAFKA_BROKERS: o.brokers.join(','),
      KAFKA_CLIENT_ID: 'switchyard-bench',
      STREAMS: JSON.stringify(streams),
      SHUTDOWN_DRAIN_MS: '0',
      SWITCHYARD_PRINT_URLS: '0',
      // One process unless asked (the default with Kafka is one per core); no admission caps:
      // the bench measures capacity, so the stream cap and lag shedding must not cut it short.
      WORKERS: String(o.workers ?? 1),
      MAX_STREAMS: '1000000',
      MAX_EVENT_LOOP_LAG_MS: '0',
      // One load generator address makes every request: a per-IP rate limit would answer 429s.
      RATE_LIMIT_PER_SECOND: '0',
      ...o.env,
    },
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/readyz`, 60_000, alive);
  } catch (err) {
    await stopChild(child);
    await dropTopic();
    throw err;
  }
  const sink = await KafkaSink.connect(o.brokers, topic);
  const label = o.workers && o.workers > 1 ? `switchyard x${o.workers}` : 'switchyard';
  return {
    name: 'switchyard',
    label,
    stream: { host: '127.0.0.1', port, path: `/v1/stream?streams=${BENCH_STREAM}` },
    sink,
    pids: () => (alive() ? processTree(child.pid!) : []),
    async stop() {
      await sink.close();
      await stopChild(child, 10_000);
      await dropTopic();
    },
  };
}

/** A gateway started elsewhere (`--url`): the publisher writes to `topic`; CPU and memory only with `pid`. */
export async function attachSwitchyard(o: {
  url: string;
  brokers: readonly string[];
  topic: string;
  pid?: number;
}): Promise<RunningSystem> {
  const u = new URL(o.url);
  const sink = await KafkaSink.connect(o.brokers, o.topic);
  const stream = u.searchParams.get('streams') ?? BENCH_STREAM;
  return {
    name: 'switchyard',
    label: `switchyard @ ${u.host}`,
    stream: {
      host: u.hostname,
      port: Number(u.port || 80),
      path: `/v1/stream?streams=${encodeURIComponent(stream)}`,
    },
    sink,
    pids: () => (o.pid ? processTree(o.pid) : []),
    stop: () => sink.close(),
  };
}

export const SWITCHYARD_ROOT = ROOT;
