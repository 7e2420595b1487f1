import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SseLoad } from '../load/sse-load.ts';
import { type StaticFile, startNchan } from '../targets/nchan.ts';
import { startPlainNode } from '../targets/plain-node.ts';
import { attachSwitchyard, startSwitchyard } from '../targets/switchyard.ts';
import type { RunningSystem, SystemName } from '../targets/types.ts';

/** Options of one run (bench/run.ts parses them). */
export interface RunOptions {
  scenarios: string[];
  json: boolean;
  /** Systems to measure; the baselines need a local machine. */
  systems: SystemName[];
  /** Multiplies stream counts (e.g. 0.05 while developing). */
  scale: number;
  /** Overrides the measurement window of every SSE phase, in seconds. */
  windowS: number | null;
  loadWorkers: number;
  seed: number;
  /** `--url`: an already running gateway to measure instead of starting one. */
  url: string | null;
  topic: string | null;
  serverPid: number | null;
  /** Extra polling path on the gateway (a legacy contract route), measured with /v1/snapshot. */
  legacyPath: string | null;
  cpuProf: boolean;
  /** scale-up: fraction of a core each gateway worker may use (cgroup cpu quota); 0: no quota. */
  coreQuota: number;
  /** `workers`: rounds of WORKERS=1 and 2 (default 3). */
  rounds: number | null;
  gatewayEnv: Record<string, string>;
  /** Only for single-scenario runs: override streams / rate. */
  streams: number | null;
  rate: number | null;
  out: string | null;
}

/** What every scenario gets: options, a work dir, the load generator and a Kafka broker. */
export interface RunContext {
  readonly opts: RunOptions;
  readonly dir: string;
  readonly load: SseLoad;
  /** Kafka bootstrap servers (the broker is started on first use). */
  brokers(): Promise<string[]>;
  log(msg: string): void;
}

export interface SystemOptions {
  phase: string;
  workers?: number;
  maxItems?: number;
  files?: readonly StaticFile[];
}

/** Starts (or, with --url, attaches to) one system for one phase. */
export async function startSystem(
  ctx: RunContext,
  name: SystemName,
  o: SystemOptions,
): Promise<RunningSystem> {
  const { opts, dir } = ctx;
  if (name === 'plain-node') {
    const f = o.files?.[0];
    if (!f) return startPlainNode({ dir, phase: o.phase });
    const staticFile = join(dir, `plain-${o.phase}-${f.name}`);
    writeFileSync(staticFile, f.body);
    writeFileSync(`${staticFile}.gz`, f.gzip);
    return startPlainNode({ dir, phase: o.phase, staticFile });
  }
  if (name === 'nchan') return startNchan({ dir, phase: o.phase, ...(o.files ? { files: o.files } : {}) });
  const brokers = await ctx.brokers();
  if (opts.url) {
    if (!opts.topic) throw new Error('--url needs --topic (the topic that gateway consumes)');
    return attachSwitchyard({
      url: opts.url,
      brokers,
      topic: opts.topic,
      ...(opts.serverPid ? { pid: opts.serverPid } : {}),
    });
  }
  return startSwitchyard({
    brokers,
    dir,
    phase: o.phase,
    ...(o.workers ? { workers: o.workers } : {}),
    ...(o.maxItems ? { maxItems: o.maxItems } : {}),
    env: opts.gatewayEnv,
    nodeArgs: opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${dir}/profiles`] : [],
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
