/**
 * The default worker count (WORKERS unset, Kafka on) is one per whole core the process may use,
 * the cgroup CPU quota included (issue 18). Layouts as the kernel shows them: cgroup v1 and v2,
 * a container's own mount (mount root not `/`), a quota on an ancestor, escaped mount paths.
 * test/integration/cpu-quota-workers.test.ts checks the same against a real cgroup.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cgroupQuotaCores,
  parseCfsQuota,
  parseCpuCgroupMounts,
  parseCpuMax,
  parseProcCgroup,
  type ReadText,
  readCpuBudget,
  workersFor,
} from '../../gateway/config/cpu-budget.ts';
import { loadConfig } from '../../gateway/switchyard.ts';

const files =
  (map: Record<string, string>): ReadText =>
  (path) =>
    map[path] ?? null;

const V1_MOUNTINFO = [
  '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
  '31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
  '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
].join('\n');

const V2_MOUNTINFO = '29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate';

test('cpu.max and cfs quotas read as cores; no limit is null', () => {
  assert.equal(parseCpuMax('max 100000\n'), null);
  assert.equal(parseCpuMax('150000 100000\n'), 1.5);
  assert.equal(parseCpuMax('50000\n'), 0.5, 'the period defaults to 100 ms');
  assert.equal(parseCfsQuota('-1\n', '100000\n'), null);
  assert.equal(parseCfsQuota('200000\n', '100000\n'), 2);
  assert.equal(parseCfsQuota('garbage', '100000'), null);
});

test('mountinfo: cgroup2, and v1 only with the cpu controller; escaped paths unescaped', () => {
  assert.deepEqual(parseCpuCgroupMounts(V1_MOUNTINFO), [
    { version: 1, mountPoint: '/sys/fs/cgroup/cpu,cpuacct', root: '/' },
  ]);
  assert.deepEqual(parseCpuCgroupMounts(V2_MOUNTINFO), [
    { version: 2, mountPoint: '/sys/fs/cgroup', root: '/' },
  ]);
  assert.deepEqual(parseCpuCgroupMounts('40 30 0:40 /a\\040b /mnt/my\\040cg rw - cgroup2 cgroup2 rw'), [
    { version: 2, mountPoint: '/mnt/my cg', root: '/a b' },
  ]);
});

test('/proc/self/cgroup: the v2 line and the v1 line that carries cpu', () => {
  assert.deepEqual(parseProcCgroup('0::/kubepods/pod1/c1\n'), { v1: null, v2: '/kubepods/pod1/c1' });
  assert.deepEqual(parseProcCgroup('5:memory:/x\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/y\n'), {
    v1: '/docker/abc',
    v2: null,
  });
});

test('v2: the tightest quota over the cgroup and its ancestors', () => {
  const read = files({
    '/proc/self/mountinfo': V2_MOUNTINFO,
    '/proc/self/cgroup': '0::/kubepods/pod1/c1\n',
    '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': 'max 100000\n',
    '/sys/fs/cgroup/kubepods/pod1/cpu.max': '250000 100000\n',
    '/sys/fs/cgroup/kubepods/cpu.max': '800000 100000\n',
  });
  assert.equal(cgroupQuotaCores(read), 2.5, "the pod's limit, set on the parent, holds for the container");
  assert.equal(workersFor(readCpuBudget(read, 32)), 2, '2.5 cores of 32 CPUs: 2 workers');
});

test('v1 in a container: the host path is hidden, the mount shows the container itself', () => {
  const read = files({
    '/proc/self/mountinfo': '31 30 0:28 /docker/abc /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu,cpuacct',
    '/proc/self/cgroup': '4:cpu,cpuacct:/docker/abc\n',
    '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '100000\n',
    '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
  });
  assert.equal(cgroupQuotaCores(read), 1);
  assert.equal(workersFor(readCpuBudget(read, 16)), 1);
});

test('v1 with the path outside the mount root falls back to the mount point', () => {
  const read = files({
    '/proc/self/mountinfo': '31 30 0:28 /docker/abc /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
    '/proc/self/cgroup': '4:cpu:/elsewhere\n',
    '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '300000\n',
    '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
  });
  assert.equal(cgroupQuotaCores(read), 3);
});

test('no cgroup files, no quota: one worker per CPU; never fewer than one', () => {
  assert.equal(cgroupQuotaCores(files({})), null);
  assert.equal(workersFor({ cpus: 8, quotaCores: null }), 8);
  assert.equal(workersFor({ cpus: 8, quotaCores: 0.5 }), 1);
  assert.equal(
    workersFor({ cpus: 8, quotaCores: 1.99 }),
    1,
    'a second worker would share the first one’s quota',
  );
  assert.equal(workersFor({ cpus: 2, quotaCores: 64 }), 2, 'a quota above the CPUs does not add workers');
});

test('loadConfig: WORKERS unset with Kafka follows the CPU budget; WORKERS wins; the demo runs one', () => {
  const budget = () => ({ cpus: 16, quotaCores: 4 });
  assert.equal(loadConfig({ KAFKA_BROKERS: 'k:9092' }, [], { cpuBudget: budget }).workers, 4);
  assert.equal(loadConfig({ KAFKA_BROKERS: 'k:9092', WORKERS: '7' }, [], { cpuBudget: budget }).workers, 7);
  assert.equal(loadConfig({}, [], { cpuBudget: budget }).workers, 1);
});
