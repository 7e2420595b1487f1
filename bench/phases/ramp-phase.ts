import { type RunContext, sleep } from '../lib/context.ts';
import { cpuSeconds, RssSampler, rssBytes } from '../lib/proc.ts';
import { Publisher } from '../load/publisher.ts';
import type { RunningSystem } from '../targets/types.ts';

export interface RampSpec {
  /** Stream counts to step through, ascending. */
  steps: number[];
  rate: number;
  rampPerSec: number;
  windowS: number;
  /** A step fails past this p99 (ms) or this loss (%). */
  p99LimitMs: number;
  lossLimitPct: number;
}

export interface RampStep {
  streams: number;
  connected: number;
  failed: number;
  lossPct: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  deliveredPerSec: number;
  cpuCorePct: number;
  cpuUsPerUpdate: number;
  loadgenCorePct: number;
  rssMB: number;
  ok: boolean;
}

/**
 * Steps one system up through `steps` streams while publishing at `rate`; at each step, a
 * window of `windowS` measures latency, loss and CPU. Stops at the first failing step.
 */
export async function rampPhase(ctx: RunContext, sys: RunningSystem, spec: RampSpec): Promise<RampStep[]> {
  const { load } = ctx;
  const out: RampStep[] = [];
  const publisher = new Publisher(sys.sink, ctx.opts.seed);
  const rss = new RssSampler(() => sys.pids()).start(500);
  load.target(sys.stream);
  try {
    for (const n of spec.steps) {
      // Quiet while streams connect: the step measures holding N streams, not accepting them
      // under load (connects compete with fan-out for the one core).
      publisher.stop();
      const ramp = await load.rampTo(n, spec.rampPerSec, 10_000 + (n / spec.rampPerSec) * 3000);
      publisher.start(spec.rate);
      await sleep(2000);
      const t0 = Date.now() + 200;
      const t1 = t0 + spec.windowS * 1000;
      load.window(t0, t1);
      await sleep(t0 - Date.now());
      const pids = sys.pids();
      const cpu0 = cpuSeconds(pids);
      const lg0 = cpuSeconds(load.pids());
      await sleep(t1 - Date.now());
      const cpu = cpuSeconds(pids) - cpu0;
      const lg = cpuSeconds(load.pids()) - lg0;
      await sleep(Math.min(3000, spec.p99LimitMs + 500));
      const s = await load.stats();
      const connected = s.windowStreams;
      const expected = publisher.countCreated(t0, t1) * connected;
      const lossPct = expected > 0 ? (100 * (expected - s.windowUpdates)) / expected : 0;
      const p99 = s.hist.quantile(0.99);
      const ok = ramp.failed === 0 && connected >= n && p99 < spec.p99LimitMs && lossPct <= spec.lossLimitPct;
      const step: RampStep = {
        streams: n,
        connected,
        failed: ramp.failed,
        lossPct: Math.round(lossPct * 1000) / 1000,
        p50Ms: s.hist.quantile(0.5),
        p99Ms: p99,
        maxMs: s.hist.max,
        deliveredPerSec: Math.round(s.windowUpdates / spec.windowS),
        cpuCorePct: Math.round((100 * cpu) / spec.windowS),
        cpuUsPerUpdate: s.windowUpdates > 0 ? Math.round((cpu * 1e8) / s.windowUpdates) / 100 : Number.NaN,
        loadgenCorePct: Math.round((100 * lg) / spec.windowS),
        rssMB: Math.round(rssBytes(pids) / 104857.6) / 10,
        ok,
      };
      out.push(step);
      ctx.log(
        `  ${sys.label} @ ${n}: p99 ${p99} ms, loss ${step.lossPct}%, cpu ${step.cpuCorePct}%, loadgen ${step.loadgenCorePct}%${ok ? '' : ' -> stop'}`,
      );
      if (!ok) break;
    }
  } finally {
    publisher.stop();
    rss.stop();
    await load.closeAll();
  }
  return out;
}
