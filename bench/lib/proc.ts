/**
 * CPU time and memory of a server's process tree, read from Linux /proc: utime + stime from
 * /proc/<pid>/stat (clock ticks, 100 per second on Linux) and VmRSS from /proc/<pid>/status.
 * The tree matters: NGINX runs a master and workers, a clustered gateway a primary and workers.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: fixed at 100 on every Linux ABI Node runs on. */
const TICKS_PER_SECOND = 100;

interface StatLine {
  ppid: number;
  cpuTicks: number;
}

function readStat(pid: number): StatLine | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name is in parentheses and may hold spaces: split after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // rest[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
    return { ppid: Number(rest[1]), cpuTicks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return null;
  }
}

/** The parent of `pid`, or -1 when it is gone. */
export function parentPid(pid: number): number {
  return readStat(pid)?.ppid ?? -1;
}

/** `pid` and all its descendants that are alive now. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const p = Number(name);
    if (!Number.isInteger(p)) continue;
    const st = readStat(p);
    if (!st) continue;
    let list = children.get(st.ppid);
    if (!list) {
      list = [];
      children.set(st.ppid, list);
    }
    list.push(p);
  }
  const out: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (readStat(p) === null) continue;
    out.push(p);
    stack.push(...(children.get(p) ?? []));
  }
  return out;
}

/** CPU seconds (user + system) used so far by these processes. */
export function cpuSeconds(pids: readonly number[]): number {
  let ticks = 0;
  for (const p of pids) ticks += readStat(p)?.cpuTicks ?? 0;
  return ticks / TICKS_PER_SECOND;
}

/** Resident set size in bytes, summed over these processes. */
export function rssBytes(pids: readonly number[]): number {
  let kb = 0;
  for (const p of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'latin1'));
      if (m) kb += Number(m[1]);
    } catch {
      // exited
    }
  }
  return kb * 1024;
}

/** Samples RSS every `everyMs` and keeps the peak (VmHWM cannot be summed over a changing tree). */
export class RssSampler {
  peak = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly pids: () => readonly number[]) {}

  start(everyMs = 200): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    return this;
  }

  sample(): number {
    const now = rssBytes(this.pids());
    if (now > this.peak) this.peak = now;
    return now;
  }

  stop(): number {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
    return this.peak;
  }
}
