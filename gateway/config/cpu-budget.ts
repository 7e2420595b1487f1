/**
 * How many cores this process may really use: the CPUs it may run on, capped by the CPU quota
 * of its cgroup (a container's `--cpus`, a Kubernetes CPU limit). Node 20's
 * `os.availableParallelism()` sees the CPUs but not the quota, so a pod limited to one core on
 * a 32-core node would otherwise start 32 workers, each holding the whole state (issue 18).
 *
 * The parsers are pure (text in, numbers out); `readCpuBudget` is the one function that reads
 * the kernel's files (/proc/self/cgroup, /proc/self/mountinfo, cgroup v1 `cpu.cfs_*` or v2
 * `cpu.max`), through an injected reader so tests can give it any layout.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { posix } from 'node:path';

/** What the default worker count is worked out from. */
export interface CpuBudget {
  /** CPUs the process may run on (`os.availableParallelism()`: affinity, not quota). */
  readonly cpus: number;
  /** The tightest cgroup CPU quota over the process's cgroup and its ancestors, in cores; null when none. */
  readonly quotaCores: number | null;
}

/** Reads a file's text, or null when it cannot be read (absent, not a cgroup system...). */
export type ReadText = (path: string) => string | null;

/** A cgroup hierarchy mounted in this mount namespace. */
interface CgroupMount {
  /** cgroup v2 (`cgroup2`) or v1 with the `cpu` controller. */
  readonly version: 1 | 2;
  /** Where it is mounted (`/sys/fs/cgroup/cpu`...). */
  readonly mountPoint: string;
  /** The cgroup the mount shows at its mount point (`/` unless a container mounted its own). */
  readonly root: string;
}

/**
 * The cgroup mounts that can carry a CPU quota, from /proc/self/mountinfo: each line is
 * `id parent major:minor root mount-point options [optional...] - fstype source super-options`.
 */
export function parseCpuCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const fields = line.slice(0, sep).split(' ');
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    const root = unescapeMountPath(fields[3] ?? '');
    const mountPoint = unescapeMountPath(fields[4] ?? '');
    if (fstype === 'cgroup2') mounts.push({ version: 2, mountPoint, root });
    else if (fstype === 'cgroup' && superOptions.split(',').includes('cpu'))
      mounts.push({ version: 1, mountPoint, root });
  }
  return mounts;
}

/** mountinfo escapes space, tab, newline and backslash as octal (`\040`). */
function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/**
 * This process's cgroup path per hierarchy, from /proc/self/cgroup (`id:controllers:path`):
 * `v2` from the `0::` line, `v1` from the line whose controllers include `cpu`.
 */
export function parseProcCgroup(text: string): { v1: string | null; v2: string | null } {
  let v1: string | null = null;
  let v2: string | null = null;
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (line.slice(0, first) === '0' && controllers === '') v2 = path;
    else if (controllers.split(',').includes('cpu')) v1 = path;
  }
  return { v1, v2 };
}

/** cgroup v2 `cpu.max` (`max 100000` or `150000 100000`) in cores; null for no limit. */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === 'max') return null;
  return coresOf(Number(quota), Number(period ?? 100_000));
}

/** cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` in cores; null for no limit (-1). */
export function parseCfsQuota(quotaText: string, periodText: string): number | null {
  return coresOf(Number(quotaText.trim()), Number(periodText.trim()));
}

function coresOf(quota: number, period: number): number | null {
  if (!Number.isFinite(quota) || !Number.isFinite(period) || quota <= 0 || period <= 0) return null;
  return quota / period;
}

/**
 * The directories of the process's cgroup and of each ancestor, as seen through `mount`, deepest
 * first. A path outside what the mount shows (a container whose host path is hidden) falls back
 * to the mount point: the container's own cgroup.
 */
function cgroupDirs(mount: CgroupMount, path: string): string[] {
  const below = posix.relative(mount.root, path);
  const rel = below === '..' || below.startsWith('../') ? '/' : `/${below}`;
  const dirs: string[] = [];
  for (let p = posix.normalize(rel); ; p = posix.dirname(p)) {
    dirs.push(posix.join(mount.mountPoint, p));
    if (p === '/' || p === '.') break;
  }
  return dirs;
}

/**
 * The tightest CPU quota over this process's cgroup and its ancestors (the kernel enforces every
 * one of them), in cores; null when no hierarchy sets one or the files cannot be read.
 */
export function cgroupQuotaCores(read: ReadText): number | null {
  const mountinfo = read('/proc/self/mountinfo');
  const own = read('/proc/self/cgroup');
  if (mountinfo === null || own === null) return null;
  const paths = parseProcCgroup(own);
  let tightest: number | null = null;
  for (const mount of parseCpuCgroupMounts(mountinfo)) {
    const path = mount.version === 2 ? paths.v2 : paths.v1;
    if (path === null) continue;
    for (const dir of cgroupDirs(mount, path)) {
      const cores = quotaIn(read, mount.version, dir);
      if (cores !== null && (tightest === null || cores < tightest)) tightest = cores;
    }
  }
  return tightest;
}

function quotaIn(read: ReadText, version: 1 | 2, dir: string): number | null {
  if (version === 2) {
    const max = read(posix.join(dir, 'cpu.max'));
    return max === null ? null : parseCpuMax(max);
  }
  const quota = read(posix.join(dir, 'cpu.cfs_quota_us'));
  const period = read(posix.join(dir, 'cpu.cfs_period_us'));
  return quota === null || period === null ? null : parseCfsQuota(quota, period);
}

/**
 * One worker per whole core the process may use: the CPUs it may run on, capped by its cgroup
 * quota rounded down (1.5 cores -> 1 worker: a second worker would only share the first's
 * quota), and never fewer than one.
 */
export function workersFor(budget: CpuBudget): number {
  const byQuota = budget.quotaCores === null ? Number.POSITIVE_INFINITY : Math.floor(budget.quotaCores);
  return Math.max(1, Math.min(budget.cpus, byQuota));
}

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** This process's CPU budget, read from the kernel (Linux; elsewhere the quota is null). */
export function readCpuBudget(read: ReadText = readText, cpus: number = availableParallelism()): CpuBudget {
  return { cpus, quotaCores: process.platform === 'linux' ? cgroupQuotaCores(read) : null };
}

/** Why `workersFor(budget)` gave what it gave, for `switchyard config check`. */
export function describeCpuBudget(budget: CpuBudget): string {
  const quota =
    budget.quotaCores === null
      ? 'no cgroup CPU quota'
      : `cgroup CPU quota ${Number(budget.quotaCores.toFixed(2))} cores`;
  return `one per whole core: ${budget.cpus} CPUs, ${quota}`;
}
