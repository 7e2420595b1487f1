/**
 * `workers`: WORKERS=1 against WORKERS=2 on the same feed and the same load, in alternating
 * rounds so both rows of a round share the machine's state, and the rounds show the spread.
 * Load: N SSE streams fed at R updates/s (the seeded publisher, so every phase gets the same
 * message sequence on a fresh topic) while pollers ask `/v1/snapshot` at a fixed total rate.
 * No CPU quota: this is what the machine's real cores give (compare `scale-up`).
 */
import { type RunContext, startSystem } from './lib/context.ts';
import { runPoll } from './load/poll-load.ts';
import { type SseResult, ssePhase } from './phases/sse-phase.ts';
import { BENCH_STREAM } from './targets/switchyard.ts';

/** One gateway (WORKERS=n) in one round. */
export interface WorkersRow {
  round: number;
  workers: number;
  sse: SseResult;
  /** Snapshot polls answered per second, their p99 (autocannon), and non-2xx/errors. */
  pollsPerSec: number;
  pollP99Ms: number;
  pollFailures: number;
}

export interface WorkersSpec {
  rounds: number;
  streams: number;
  rate: number;
  pollConnections: number;
  pollRate: number;
  windowS: number;
}

const SSE = { rampPerSec: 1000, warmupS: 3, drainS: 2, settleS: 1 };

/** Runs the rounds: in each, WORKERS=1 then WORKERS=2 (odd rounds) or 2 then 1 (even rounds). */
export async function workersRounds(ctx: RunContext, spec: WorkersSpec): Promise<WorkersRow[]> {
  const rows: WorkersRow[] = [];
  for (let round = 1; round <= spec.rounds; round++) {
    // Alternate the order so a drift of the machine's load over the run does not favour one.
    const order = round % 2 === 1 ? [1, 2] : [2, 1];
    for (const workers of order) {
      ctx.log(`[workers] round ${round}: WORKERS=${workers}`);
      const sys = await startSystem(ctx, 'switchyard', {
        phase: `workers-${workers}-r${round}`,
        workers,
        maxItems: 20,
      });
      try {
        // Pollers run from before the ramp until after the window (ramp + settle + warm-up + window).
        const pollS = Math.ceil(spec.streams / SSE.rampPerSec + SSE.settleS + SSE.warmupS + spec.windowS + 4);
        const poll = runPoll({
          url: `http://${sys.stream.host}:${sys.stream.port}/v1/snapshot?streams=${BENCH_STREAM}`,
          connections: spec.pollConnections,
          durationS: pollS,
          headers: {},
          overallRate: spec.pollRate,
        });
        const sse = await ssePhase(ctx, sys, {
          streams: spec.streams,
          rate: spec.rate,
          windowS: spec.windowS,
          ...SSE,
        });
        const p = await poll.result;
        rows.push({
          round,
          workers,
          sse,
          pollsPerSec: Math.round(p.requestsPerSec),
          pollP99Ms: p.latencyP99Ms,
          pollFailures: p.non2xx + p.errors,
        });
      } finally {
        await sys.stop();
      }
    }
  }
  return rows;
}
