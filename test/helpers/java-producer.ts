/**
 * Records written by the official Apache Kafka Java client (`kafka-clients`, the jar the broker of
 * the test run ships with), not by kafkajs: what Flink, Kafka Streams and Java services write.
 *
 * `test/helpers/java/TestProducer.java` is compiled with `javac` on first use (once per JDK and
 * broker version, cached under the broker's jar cache) and driven over a small command protocol:
 * one JSON command per line on stdin, one JSON answer per line on stdout. A producer is made (and
 * kept) per distinct compression / transactional id / batching setting. Idempotence is on,
 * `acks=all`.
 *
 *   const java = await startJavaProducer(t);
 *   await java.send(topic, records, { compression: 'zstd' });
 *   await java.send(topic, records, { transactionalId: 'tx-1', transaction: 'abort' });
 *   await java.deleteRecords(topic, { 0: 12, 1: 6 }); // Admin.deleteRecords
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEFAULT_KAFKA_VERSION, ensureKafkaJars } from '../../scripts/kafka.ts';
import { kafkaBrokers } from './kafka.ts';

const execFileAsync = promisify(execFile);
const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'java', 'TestProducer.java');
const COMMAND_TIMEOUT_MS = 60_000;

export type JavaCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

/** One record; strings are written as UTF-8 bytes, null is a null key / value (tombstone). */
export interface JavaRecord {
  key?: string | null;
  value: string | null;
  partition?: number;
  /** Epoch ms (CreateTime); absent: the producer's clock. */
  timestamp?: number;
  headers?: Record<string, string | null>;
}

export interface JavaSendOptions {
  compression?: JavaCompression;
  /** Send inside a transaction of this transactional id, ended as `transaction` says. */
  transactionalId?: string;
  transaction?: 'commit' | 'abort';
  /** `batch.size` (default 16384) and `linger.ms` (default 5): large batches need both up. */
  batchSize?: number;
  lingerMs?: number;
}

export interface JavaProducer {
  /** Sends and flushes (and commits or aborts); resolves with each record's partition and offset. */
  send(
    topic: string,
    records: readonly JavaRecord[],
    opts?: JavaSendOptions,
  ): Promise<Array<{ partition: number; offset: number }>>;
  /**
   * `Admin.deleteRecords`: deletes each partition's records below the offset `before` gives it;
   * resolves with each of those partitions' new log start offset.
   */
  deleteRecords(topic: string, before: Readonly<Record<number, number>>): Promise<Record<number, number>>;
  close(): Promise<void>;
}

/** Compiles TestProducer.java against the broker's jars (once) and returns the classes dir. */
function compiled(lib: string): Promise<string> {
  return compileJava(SOURCE, lib, 'test-producer');
}

/**
 * Compiles one Java source against the jars in `lib` into `<lib>/../<prefix>-<hash>` (once per
 * source and jar set; concurrent runs build apart and the first rename wins). Returns that dir.
 */
export async function compileJava(source: string, lib: string, prefix: string): Promise<string> {
  const hash = createHash('sha256').update(readFileSync(source)).update(lib).digest('hex').slice(0, 12);
  const out = join(dirname(lib), `${prefix}-${hash}`);
  const cls = `${basename(source, '.java')}.class`;
  if (existsSync(join(out, cls))) return out;
  const partial = `${out}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await execFileAsync('javac', ['-nowarn', '-cp', `${lib}/*`, '-d', partial, source]);
  await rename(partial, out).catch(async () => rm(partial, { recursive: true, force: true }));
  return out;
}

/**
 * Starts a Java producer process for the broker of the test run; closed by `t.after` when given.
 */
export async function startJavaProducer(t?: { after(fn: () => unknown): void }): Promise<JavaProducer> {
  const lib = await ensureKafkaJars(process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION);
  const classes = await compiled(lib);
  const child = spawn(
    'java',
    [
      '-Xms32m',
      '-Xmx256m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Djava.net.preferIPv4Stack=true',
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
      '-Dlog4j.configuration=none',
      '-cp',
      `${classes}:${lib}/*`,
      'TestProducer',
      kafkaBrokers().join(','),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  let readyResolve!: () => void;
  let readyReject!: (e: Error) => void;
  const ready = new Promise<void>((res, rej) => {
    readyResolve = res;
    readyReject = rej;
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    let msg: { ready?: boolean; id?: number; ok?: boolean; error?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return; // a stray log line
    }
    if (msg.ready) return readyResolve();
    const waiter = pending.get(msg.id ?? -1);
    if (!waiter) return;
    pending.delete(msg.id!);
    if (msg.ok) waiter.resolve(msg);
    else waiter.reject(new Error(`java producer: ${msg.error}`));
  });
  child.on('exit', (code) => {
    exited = true;
    const err = new Error(`java producer exited (${code}): ${stderr}`);
    readyReject(err);
    for (const w of pending.values()) w.reject(err);
    pending.clear();
  });
  await ready;

  const call = (cmd: Record<string, unknown>): Promise<unknown> => {
    if (exited) return Promise.reject(new Error(`java producer has exited: ${stderr}`));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`java producer: no answer to ${String(cmd.op)} within ${COMMAND_TIMEOUT_MS} ms`));
      }, COMMAND_TIMEOUT_MS);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      child.stdin.write(`${JSON.stringify({ ...cmd, id })}\n`);
    });
  };

  const producer: JavaProducer = {
    async send(topic, records, opts = {}) {
      const answer = (await call({ op: 'send', topic, records, ...opts })) as {
        records: Array<{ partition: number; offset: number }>;
      };
      return answer.records;
    },
    async deleteRecords(topic, before) {
      const answer = (await call({ op: 'deleteRecords', topic, before })) as {
        logStart: Record<string, number>;
      };
      return Object.fromEntries(Object.entries(answer.logStart).map(([p, o]) => [Number(p), o]));
    },
    async close() {
      if (exited) return;
      child.stdin.end();
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        if (exited) resolve();
      });
    },
  };
  t?.after(() => producer.close());
  return producer;
}
