/**
 * Issue 18: the default worker count is one per whole core the process may use, and a cgroup
 * CPU quota (a container's `--cpus`, a Kubernetes CPU limit) counts. Node 20's
 * `os.availableParallelism()` does not see quotas: without this, a pod limited to one core on a
 * big node forks a worker per node CPU, each with the whole state.
 *
 * Checked against the kernel, not a fake: each case makes a real cgroup with a CPU quota
 * (v1 `cpu.cfs_quota_us` or v2 `cpu.max`, whichever this machine has), enters it from a shell
 * and execs the shipped `switchyard` command, so the quota holds from the first instruction.
 * Needs root (a writable cgroup cpu controller); elsewhere the test says so and skips.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort } from '../helpers/gateway-process.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SWITCHYARD = join(ROOT, 'scripts', 'switchyard.mjs');

/** A cgroup of its own with `cores` of CPU quota (v1 or v2), removed by `remove()`. */
function cgroupWithQuota(cores: number): { dir: string; remove(): void } | null {
  const v1 = '/sys/fs/cgroup/cpu';
  const v2 = '/sys/fs/cgroup';
  const period = 100_000;
  const quota = Math.round(cores * period);
  const name = `switchyard-test-${process.pid}-${Math.round(cores * 100)}`;
  try {
    if (existsSync(join(v1, 'cpu.cfs_quota_us'))) {
      const dir = join(v1, name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(period));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
      return { dir, remove: () => removeGroup(dir, v1) };
    }
    if (readFileSync(join(v2, 'cgroup.subtree_control'), 'utf8').split(/\s+/).includes('cpu')) {
      const dir = join(v2, name);
      mkdirSync(dir);
      writeFileSync(join(dir, 'cpu.max'), `${quota} ${period}`);
      return { dir, remove: () => removeGroup(dir, v2) };
    }
  } catch {}
  return null;
}

function removeGroup(dir: string, root: string): void {
  try {
    for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))
      writeFileSync(join(root, 'cgroup.procs'), pid);
    rmdirSync(dir);
  } catch {}
}

/** Runs `switchyard ARGS` inside `group` (entered before exec); resolves with its output and exit code. */
function runIn(
  group: string | null,
  args: string[],
  env: Record<string, string>,
  until?: (out: string) => boolean,
): Promise<{ code: number | null; out: string }> {
  const enter = group === null ? '' : `echo $$ > '${join(group, 'cgroup.procs')}' && `;
  const child = spawn(
    'sh',
    ['-c', `${enter}exec "${process.execPath}" "${SWITCHYARD}" "$@"`, 'sh', ...args],
    {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  const take = (b: Buffer) => {
    out += b.toString();
    if (until?.(out)) child.kill('SIGTERM');
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    }),
  );
}

const probe = cgroupWithQuota(1);
probe?.remove();
const skip = probe === null ? 'no writable cgroup cpu controller here (needs root)' : false;
const KAFKA = { KAFKA_BROKERS: '127.0.0.1:9' }; // config check connects to nothing

test('config check: the worker count follows the cgroup CPU quota', { skip }, async (t) => {
  for (const [cores, expected] of [
    [0.5, 1],
    [1.5, 1],
    [64, availableParallelism()],
  ] as const) {
    const group = cgroupWithQuota(cores);
    assert.ok(group);
    t.after(() => group.remove());
    const { code, out } = await runIn(group.dir, ['config', 'check'], KAFKA);
    assert.equal(code, 0, out);
    const n = `${expected} worker${expected === 1 ? '' : 's'}`;
    assert.match(
      out,
      new RegExp(
        `source Kafka, ${n} \\(one per whole core: ${availableParallelism()} CPUs, cgroup CPU quota ${cores} cores\\)`,
      ),
      out,
    );
  }
  // WORKERS set by the operator wins over the quota.
  const group = cgroupWithQuota(1);
  assert.ok(group);
  t.after(() => group.remove());
  const { out } = await runIn(group.dir, ['config', 'check'], { ...KAFKA, WORKERS: '3' });
  assert.match(out, /source Kafka, 3 workers \(WORKERS\)/, out);
});

test('a gateway started under a one-core quota runs one process, not one per CPU', {
  skip: skip || (availableParallelism() < 2 ? 'one CPU: one worker either way' : false),
}, async (t) => {
  // Kafka is configured (so the default is "one per core") but unreachable: the worker count
  // is decided before anything connects, and a single process listens all the same.
  const env = { ...KAFKA, PORT: String(await freePort()), HOST: '127.0.0.1' };
  // The first line that shows the shape: a cluster primary says "starting workers" before any
  // worker exists; a single process says "listening" once it serves.
  const first = /"msg":"(starting workers|listening)"/;
  const free = await runIn(null, [], env, (out) => first.test(out));
  assert.match(
    free.out,
    new RegExp(`"workers":${availableParallelism()},[^\n]*"msg":"starting workers"`),
    free.out,
  );

  const group = cgroupWithQuota(1);
  assert.ok(group);
  t.after(() => group.remove());
  const limited = await runIn(group.dir, [], env, (out) => first.test(out));
  assert.match(limited.out, /"msg":"listening"/, limited.out);
  assert.doesNotMatch(limited.out, /starting workers/, `one core: no cluster primary\n${limited.out}`);
});
