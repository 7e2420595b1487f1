/**
 * CPU quotas for processes under test, through the Linux cgroup `cpu` controller (v1 at
 * /sys/fs/cgroup/cpu, or v2 where the root delegates `cpu`). The scale-up scenario gives each
 * gateway worker the same fraction of a core, so a machine with two cores can saturate one and
 * two workers while the load generator keeps the CPU it needs: the ratio then measures how the
 * work splits between workers, with "a core" scaled down (docs/benchmarks.md says what that
 * does and does not show).
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPid } from './proc.ts';

/** The cgroup cfs period: quotas are fractions of it. Short, so a throttled process waits ms, not 100s of ms. */
const PERIOD_US = 10_000;

interface Layout {
  readonly root: string;
  readonly v2: boolean;
}

function detect(): Layout | null {
  const v1 = '/sys/fs/cgroup/cpu';
  if (existsSync(join(v1, 'cpu.cfs_quota_us'))) return { root: v1, v2: false };
  for (const root of ['/sys/fs/cgroup', '/sys/fs/cgroup/unified']) {
    try {
      const controllers = readFileSync(join(root, 'cgroup.subtree_control'), 'utf8');
      if (controllers.split(/\s+/).includes('cpu')) return { root, v2: true };
    } catch {}
  }
  return null;
}

export class CpuQuota {
  private readonly groups: string[] = [];

  private constructor(private readonly layout: Layout) {}

  /** A quota setter, or null when this machine gives no writable cpu controller (not root...). */
  static open(): CpuQuota | null {
    const layout = detect();
    if (!layout) return null;
    const probe = join(layout.root, `switchyard-bench-probe-${process.pid}`);
    try {
      mkdirSync(probe);
      rmdirSync(probe);
      return new CpuQuota(layout);
    } catch {
      return null;
    }
  }

  /** Confines `pid` (all its threads) to `fraction` of one core, in a cgroup of its own. */
  confine(pid: number, fraction: number): void {
    const dir = join(this.layout.root, `switchyard-bench-${pid}`);
    mkdirSync(dir, { recursive: true });
    this.groups.push(dir);
    const quota = Math.max(1000, Math.round(fraction * PERIOD_US));
    if (this.layout.v2) writeFileSync(join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
    else {
      writeFileSync(join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
      writeFileSync(join(dir, 'cpu.cfs_quota_us'), String(quota));
    }
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  }

  /** Removes the groups made so far (their processes must have exited; survivors go back to the root). */
  release(): void {
    for (const dir of this.groups.splice(0)) {
      try {
        for (const p of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean))
          writeFileSync(join(this.layout.root, 'cgroup.procs'), p);
        rmdirSync(dir);
      } catch {}
    }
  }
}

/** The node processes among `pids` that run a gateway: the leaves of the node process tree. */
export function gatewayProcesses(pids: readonly number[]): number[] {
  const isNode = (p: number): boolean => {
    try {
      return readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'node';
    } catch {
      return false;
    }
  };
  const nodes = pids.filter(isNode);
  const parents = new Set(nodes.map(parentPid));
  return nodes.filter((p) => !parents.has(p));
}
