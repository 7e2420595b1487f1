/**
 * The scenarios of issue 7, each measuring Switchyard and (where it makes sense) the two
 * baselines one after the other in the same run, with the same seeded message sequence.
 */
import { type RunContext, startSystem } from './lib/context.ts';
import { CpuQuota, gatewayProcesses } from './lib/cpu-quota.ts';
import { type PollRow, pollPhase } from './phases/poll-phase.ts';
import { type RampSpec, type RampStep, rampPhase } from './phases/ramp-phase.ts';
import { type SsePhaseSpec, type SseResult, ssePhase } from './phases/sse-phase.ts';
import type { SystemName } from './targets/types.ts';
import { type WorkersRow, workersRounds } from './workers.ts';

/** One target of the issue, as measured: met (true/false) or pending (null). */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean | null;
}

export interface ScenarioResult {
  name: string;
  title: string;
  params: Record<string, unknown>;
  sse?: SseResult[];
  poll?: PollRow[];
  ramps?: RampResult[];
  workers?: WorkersRow[];
  errors: Array<{ system: string; error: string }>;
  targets: TargetCheck[];
  notes: string[];
}

/** One system stepped up by rampPhase: its steps and the most streams it held with p99 < 1 s. */
export interface RampResult {
  system: string;
  steps: RampStep[];
  maxStreamsUnder1s: number;
  /** Updates/s delivered at that step. */
  deliveredAtMax: number;
  /** Whether a step failed (the system was saturated) or every step passed. */
  saturated: boolean;
  limit: string;
}

export interface Scenario {
  name: string;
  title: string;
  /** What it measures, for --list and docs/benchmarks.md. */
  about: string;
  run(ctx: RunContext): Promise<ScenarioResult>;
}

/** Baselines first, Switchyard last; only the systems asked for. */
function systemsOf(ctx: RunContext): SystemName[] {
  const order: SystemName[] = ['plain-node', 'nchan', 'switchyard'];
  return order.filter((s) => ctx.opts.systems.includes(s));
}

function scaled(ctx: RunContext, n: number): number {
  return ctx.opts.streams ?? Math.max(10, Math.round(n * ctx.opts.scale));
}

/** A stream-count ramp (scaled, deduplicated) at 5 updates/s, each step failing at p99 >= 1 s or 0.1% loss. */
function rampSpec(ctx: RunContext, counts: readonly number[]): RampSpec {
  return {
    steps: [...new Set(counts.map((n) => scaled(ctx, n)))],
    rate: ctx.opts.rate ?? 5,
    rampPerSec: 2000,
    windowS: ctx.opts.windowS ?? 5,
    p99LimitMs: 1000,
    lossLimitPct: 0.1,
  };
}

/** The ramp of one system, summarised: the last passing step and why the ramp stopped. */
function summariseRamp(system: string, steps: RampStep[], planned: readonly number[]): RampResult {
  const passed = steps.filter((s) => s.ok);
  const best = passed[passed.length - 1];
  const last = steps[steps.length - 1];
  const saturated = last !== undefined && !last.ok;
  return {
    system,
    steps,
    maxStreamsUnder1s: best?.streams ?? 0,
    deliveredAtMax: best?.deliveredPerSec ?? 0,
    saturated,
    limit: saturated
      ? `stopped at ${last.streams}: p99 ${last.p99Ms} ms, loss ${last.lossPct}%, ${last.failed} failed connects`
      : `every step passed up to the last, ${planned[planned.length - 1]}${planned[planned.length - 1] === 19_500 ? ' (19,500 is what ulimit -n 20000 lets one process hold)' : ''}`,
  };
}

const ratio = (a: number, b: number) =>
  b > 0 && Number.isFinite(a) && Number.isFinite(b) ? a / b : Number.NaN;
const fx = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : 'n/a');

/** `target` as `m` measured it; not measured (met: null) without `m`. */
function check(target: string, m: { measured: string; met: boolean } | undefined): TargetCheck {
  return { target, measured: m?.measured ?? 'not measured', met: m?.met ?? null };
}

/** `target` met when our figure over theirs (`x`) passes `ok`; not measured without both figures. */
function ratioCheck(
  target: string,
  ours: number | undefined,
  theirs: number | undefined,
  unit: string,
  ok: (x: number) => boolean,
): TargetCheck {
  const x = ratio(ours ?? Number.NaN, theirs ?? Number.NaN);
  return {
    target,
    measured:
      ours !== undefined && theirs !== undefined ? `${ours} vs ${theirs} ${unit} = ${fx(x)}` : 'not measured',
    met: Number.isFinite(x) ? ok(x) : null,
  };
}

function sseScenario(
  name: string,
  title: string,
  about: string,
  base: { streams: number; rate: number; rampPerSec: number },
  check: (r: ScenarioResult, by: Map<SystemName, SseResult>) => void,
): Scenario {
  return {
    name,
    title,
    about,
    async run(ctx) {
      const spec: SsePhaseSpec = {
        streams: scaled(ctx, base.streams),
        rate: ctx.opts.rate ?? base.rate,
        rampPerSec: base.rampPerSec,
        warmupS: 3,
        windowS: ctx.opts.windowS ?? (base.rate > 0 ? 15 : 3),
        drainS: 2,
        settleS: base.rate > 0 ? 1 : 3,
      };
      const result: ScenarioResult = {
        name,
        title,
        params: { ...spec },
        sse: [],
        errors: [],
        targets: [],
        notes: [],
      };
      const by = new Map<SystemName, SseResult>();
      for (const sysName of systemsOf(ctx)) {
        ctx.log(`[${name}] ${sysName}: ${spec.streams} streams x ${spec.rate}/s`);
        let sys = null;
        try {
          sys = await startSystem(ctx, sysName, { phase: name, maxItems: 20 });
          const row = await ssePhase(ctx, sys, spec);
          result.sse!.push(row);
          by.set(sysName, row);
        } catch (err) {
          result.errors.push({ system: sysName, error: (err as Error).message });
          ctx.log(`  ${sysName} failed: ${(err as Error).message}`);
          await ctx.load.closeAll().catch(() => {});
        } finally {
          await sys?.stop();
        }
      }
      check(result, by);
      return result;
    },
  };
}

function cpuChecks(r: ScenarioResult, by: Map<SystemName, SseResult>): void {
  const sy = by.get('switchyard');
  for (const b of ['plain-node', 'nchan'] as const) {
    r.targets.push(
      ratioCheck(
        `CPU per delivered update <= 1.0x ${b}`,
        sy?.cpuUsPerUpdate,
        by.get(b)?.cpuUsPerUpdate,
        'us/update',
        (x) => x <= 1.0,
      ),
    );
  }
  if (sy && sy.lossPct > 0) r.notes.push(`switchyard lost ${sy.lossPct}% of expected updates`);
}

export const SCENARIOS: Scenario[] = [
  sseScenario(
    'fanout-1k',
    '1,000 streams x 50 updates/s',
    'Fan-out cost: server CPU per delivered update with many updates per stream.',
    { streams: 1000, rate: 50, rampPerSec: 2000 },
    cpuChecks,
  ),
  sseScenario(
    'fanout-5k',
    '5,000 streams x 10 updates/s',
    'Fan-out cost with more connections and fewer updates each (same deliveries per second).',
    { streams: 5000, rate: 10, rampPerSec: 2500 },
    cpuChecks,
  ),
  sseScenario(
    'latency-1k',
    'latency at 1,000 streams x 20 updates/s',
    'Creation -> arrival per event per stream; Switchyard includes the Kafka hop.',
    { streams: 1000, rate: 20, rampPerSec: 2000 },
    (r, by) => {
      const sy = by.get('switchyard');
      const nc = by.get('nchan');
      r.targets.push(
        check(
          'p99 creation->arrival <= nchan p99 (same run, Kafka hop included)',
          sy && nc && { measured: `${sy.p99Ms} ms vs ${nc.p99Ms} ms`, met: sy.p99Ms <= nc.p99Ms },
        ),
      );
    },
  ),
  sseScenario(
    'idle-10k',
    'idle memory at 10,000 streams',
    'RSS growth per open, idle stream (heartbeats only).',
    { streams: 10_000, rate: 0, rampPerSec: 2500 },
    (r, by) => {
      const sy = by.get('switchyard');
      r.targets.push(
        check(
          '<= 10 KB RSS per idle connection at 10,000 streams',
          sy && {
            measured: `${sy.kbPerConnection} KB/connection at ${sy.connected} streams`,
            met: sy.kbPerConnection <= 10,
          },
        ),
      );
      if (sy && sy.connected < (r.params.streams as number)) r.notes.push('not every stream connected');
    },
  ),
  {
    name: 'max-streams',
    title: 'most streams with p99 < 1 s (ramp, 5 updates/s)',
    about: 'Steps the stream count up while publishing; the last step with p99 < 1 s and no loss.',
    async run(ctx) {
      const spec = rampSpec(ctx, [2000, 4000, 6000, 8000, 10_000, 12_000, 14_000, 16_000, 18_000, 19_500]);
      const result: ScenarioResult = {
        name: 'max-streams',
        title: this.title,
        params: { ...spec },
        errors: [],
        targets: [],
        notes: [],
      };
      const sys = await startSystem(ctx, 'switchyard', { phase: 'max-streams', maxItems: 20 });
      try {
        const ramp = summariseRamp(sys.label, await rampPhase(ctx, sys, spec), spec.steps);
        result.ramps = [ramp];
        result.targets.push({
          target: 'report the most streams one process holds with p99 < 1 s',
          measured: `${ramp.maxStreamsUnder1s} streams (${ramp.limit})`,
          met: ramp.maxStreamsUnder1s > 0,
        });
      } catch (err) {
        result.errors.push({ system: 'switchyard', error: (err as Error).message });
      } finally {
        await sys.stop();
      }
      return result;
    },
  },
  {
    name: 'poll',
    title: 'polling: /v1/snapshot vs NGINX static file',
    about: 'autocannon against the snapshot (full, gzip, If-None-Match) and NGINX serving the same bytes.',
    async run(ctx) {
      const spec = { items: 100, connections: 50, durationS: ctx.opts.windowS ?? 5 };
      const result: ScenarioResult = {
        name: 'poll',
        title: this.title,
        params: spec,
        errors: [],
        targets: [],
        notes: [],
      };
      try {
        result.poll = await pollPhase(ctx, spec);
        for (const variant of ['full', '304', 'gzip'] as const) {
          const sy = result.poll.find((p) => p.system.startsWith('switchyard') && p.variant === variant);
          const ng = result.poll.find((p) => p.system === 'nginx+nchan' && p.variant === variant);
          result.targets.push(
            ratioCheck(
              `/v1/snapshot ${variant === '304' ? '304s' : variant === 'full' ? 'full bodies' : 'gzip bodies'} >= 0.5x NGINX static req/s`,
              sy?.requestsPerSec,
              ng?.requestsPerSec,
              'req/s',
              (x) => x >= 0.5,
            ),
          );
        }
      } catch (err) {
        result.errors.push({ system: 'switchyard', error: (err as Error).message });
      }
      return result;
    },
  },
  {
    name: 'scale-up',
    title: 'scale-up: --workers 2 vs 1, updates/s delivered at the most streams with p99 < 1 s',
    about:
      'Steps streams up (5 updates/s) with WORKERS=1, then 2, each worker held to --core-quota of a core; compares the updates/s delivered at the last step with p99 < 1 s.',
    async run(ctx) {
      const fraction = ctx.opts.coreQuota;
      const spec = rampSpec(
        ctx,
        [500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000, 6000, 7000, 8000, 10_000, 12_000, 14_000],
      );
      const result: ScenarioResult = {
        name: 'scale-up',
        title: this.title,
        params: { ...spec, coreQuota: fraction },
        ramps: [],
        errors: [],
        targets: [],
        notes: [],
      };
      const target = '--workers 2 >= 1.6x delivered updates/s of 1 worker at saturation';
      const quota = fraction > 0 ? CpuQuota.open() : null;
      if (fraction > 0 && quota === null) {
        result.targets.push({
          target,
          measured:
            'pending: no writable cgroup cpu controller here (run as root, or --core-quota 0 with the load on another machine)',
          met: null,
        });
        return result;
      }
      for (const workers of [1, 2]) {
        ctx.log(`[scale-up] switchyard --workers ${workers}${quota ? `, ${fraction} of a core each` : ''}`);
        const sys = await startSystem(ctx, 'switchyard', {
          phase: `scale-${workers}`,
          workers,
          maxItems: 20,
        });
        try {
          const confined = quota ? gatewayProcesses(sys.pids()) : [];
          for (const pid of confined) quota!.confine(pid, fraction);
          if (quota && confined.length !== workers)
            throw new Error(`expected ${workers} gateway processes to confine, found ${confined.length}`);
          result.ramps!.push(summariseRamp(sys.label, await rampPhase(ctx, sys, spec), spec.steps));
        } catch (err) {
          result.errors.push({ system: sys.label, error: (err as Error).message });
        } finally {
          await sys.stop();
          quota?.release();
        }
      }
      const [one, two] = result.ramps!;
      const x = ratio(two?.deliveredAtMax ?? Number.NaN, one?.deliveredAtMax ?? Number.NaN);
      // Without a failing step the count is only a floor: the ratio is then a bound, not a result.
      const valid = one?.saturated === true && one.maxStreamsUnder1s > 0;
      result.targets.push({
        target,
        measured: !(one && two)
          ? 'not measured'
          : `${two.deliveredAtMax} vs ${one.deliveredAtMax} updates/s (${two.maxStreamsUnder1s} vs ${one.maxStreamsUnder1s} streams) = ${fx(x)}${two.saturated ? '' : ' (2 workers passed every step: a lower bound)'}${one.saturated ? '' : '; 1 worker never saturated'}`,
        met: valid && two && Number.isFinite(x) ? (x >= 1.6 ? true : two.saturated ? false : null) : null,
      });
      if (quota)
        result.notes.push(
          `each gateway worker ran in a cgroup of its own with ${fraction} of a core (cfs quota): "a core" scaled down so this machine can saturate two workers and still run the load`,
        );
      return result;
    },
  },
  {
    name: 'workers',
    title: 'workers: WORKERS=1 vs 2 on the same feed and load, round by round',
    about:
      'Per round, WORKERS=1 and WORKERS=2 (order alternating) each get 2,000 streams at 20 updates/s plus pollers asking /v1/snapshot 200 times/s; no CPU quota. --rounds N (default 3).',
    async run(ctx) {
      const spec = {
        rounds: ctx.opts.rounds ?? 3,
        streams: scaled(ctx, 2000),
        rate: ctx.opts.rate ?? 20,
        pollConnections: 50,
        pollRate: 200,
        windowS: ctx.opts.windowS ?? 10,
      };
      const result: ScenarioResult = {
        name: 'workers',
        title: this.title,
        params: spec,
        workers: [],
        errors: [],
        targets: [],
        notes: [],
      };
      try {
        result.workers = await workersRounds(ctx, spec);
      } catch (err) {
        result.errors.push({ system: 'switchyard', error: (err as Error).message });
      }
      const rows = result.workers ?? [];
      const ratios = [...new Set(rows.map((r) => r.round))].flatMap((round) => {
        const one = rows.find((r) => r.round === round && r.workers === 1);
        const two = rows.find((r) => r.round === round && r.workers === 2);
        return one && two ? [ratio(two.sse.p99Ms, one.sse.p99Ms)] : [];
      });
      result.targets.push({
        target: 'WORKERS=2 vs 1: p99 delivery latency at the same load (per round)',
        measured: ratios.length === 0 ? 'not measured' : ratios.map(fx).join(', '),
        met: null,
      });
      result.notes.push(
        'deliveries/s is fixed by the load (streams x rate) while neither drops updates: compare latency, CPU and RSS',
      );
      return result;
    },
  },
];
