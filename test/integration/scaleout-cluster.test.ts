/**
 * `--workers N` (gateway/cluster.ts) as a real process on the real broker: the primary forks N
 * workers sharing the port, each a whole gateway with its own Kafka consumer and cache; a worker
 * that dies is replaced; SIGTERM to the primary drains every worker (open streams get their
 * `shutdown` event) and the primary exits once they all have.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { GatewayProcess } from '../helpers/gateway-process.ts';
import { closeKafkaHelpers, createTopic, produce } from '../helpers/kafka.ts';
import { openSse } from '../helpers/sse-client.ts';

const execFileAsync = promisify(execFile);
const DRAIN_MS = 2000;

/** Pids of the direct children of `pid`. */
async function childrenOf(pid: number): Promise<number[]> {
  const { stdout } = await execFileAsync('ps', ['-o', 'pid=', '--ppid', String(pid)]).catch(() => ({
    stdout: '',
  }));
  return stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

async function waitForChildren(
  pid: number,
  check: (pids: number[]) => boolean,
  what: string,
): Promise<number[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const pids = await childrenOf(pid);
    if (check(pids)) return pids;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; children: ${pids}`);
    await sleep(100);
  }
}

describe('--workers', { timeout: 180_000 }, () => {
  after(closeKafkaHelpers);

  test('forks N workers sharing the port, replaces a dead one, drains all on SIGTERM', async (t) => {
    const topic = await createTopic('cluster-totals');
    await produce(topic, [{ key: 'FR', value: '{"n":1}' }]);
    const gw = await GatewayProcess.start({
      name: 'cluster',
      env: {
        KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
        STREAMS: `totals:table:${topic}`,
        WORKERS: '2',
        SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
      },
    });
    t.after(async () => {
      // If the test failed half-way, leave no worker behind.
      for (const pid of await childrenOf(gw.pid ?? -1)) process.kill(pid, 'SIGKILL');
      await gw.stop();
    });
    const primary = gw.pid!;
    const workers = await waitForChildren(primary, (p) => p.length === 2, 'two workers');

    // Both workers serve the port: each connection goes to one of them, in turn.
    const streams = await Promise.all(Array.from({ length: 4 }, () => openSse(`${gw.url}/v1/stream`, { t })));
    for (const s of streams) assert.equal((await s.nextEvent()).event, 'snapshot');
    await produce(topic, [{ key: 'FR', value: '{"n":2}' }]);
    for (const s of streams)
      assert.equal((await s.nextEvent()).event, 'update', 'every worker consumes Kafka');

    // A worker that dies is replaced.
    process.kill(workers[0]!, 'SIGKILL');
    const replaced = await waitForChildren(
      primary,
      (p) => p.length === 2 && !p.includes(workers[0]!),
      'a replacement worker',
    );
    assert.ok(replaced.includes(workers[1]!), 'the other worker kept running');
    await gw.waitReady();

    // SIGTERM to the primary reaches every worker; open streams are told to come back.
    const open = await openSse(`${gw.url}/v1/stream`, { t });
    assert.equal((await open.nextEvent()).event, 'snapshot');
    const sent = Date.now();
    const exit = await gw.kill('SIGTERM', DRAIN_MS + 10_000);
    assert.equal(exit.code, 0, gw.logs);
    assert.ok(exit.at - sent < DRAIN_MS + 5000, `primary exited ${exit.at - sent} ms after SIGTERM`);
    await open.closed;
    assert.ok(
      open.received.some((i) => i.kind === 'event' && i.event === 'shutdown'),
      'the open stream got its shutdown event',
    );
    assert.deepEqual(await childrenOf(primary), [], 'no worker left');
  });
});
