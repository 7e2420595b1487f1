import { loadavg } from 'node:os';
import { type RunContext, sleep } from '../lib/context.ts';
import { type LatencySums, legQuantileMs, meanLegs, readLatencySums } from '../lib/gateway-metrics.ts';
import { cpuSeconds, RssSampler, rssBytes } from '../lib/proc.ts';
import { Publisher } from '../load/publisher.ts';
import type { RunningSystem } from '../targets/types.ts';

export interface SsePhaseSpec {
  streams: number;
  /** Published updates per second (0: idle streams, memory only). */
  rate: number;
  rampPerSec: number;
  warmupS: number;
  windowS: number;
  /** Time after the window for late updates to arrive before counting. */
  drainS: number;
  /** Wait after the ramp before the connected-RSS sample. */
  settleS: number;
}

/** One system's row of an SSE scenario. */
export interface SseResult {
  system: string;
  streams: number;
  connected: number;
  maxConnected: number;
  failed: number;
  failReasons: Record<string, number>;
  closedByServer: number;
  rate: number;
  windowS: number;
  published: number;
  expected: number;
  received: number;
  lossPct: number;
  deliveredPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  cpuSeconds: number;
  /** Server CPU in the window as a share of one core. */
  cpuCorePct: number;
  cpuUsPerUpdate: number;
  loadgenCorePct: number;
  rssBeforeMB: number;
  rssConnectedMB: number;
  peakRssMB: number;
  kbPerConnection: number;
  /** Updates per socket read on the client side (over the whole phase): server-side batching. */
  updatesPerRead: number;
  publishErrors: number;
  sseErrors: number;
  /** Switchyard only, from its /metrics over the window: mean creation -> applied to the cache (Kafka hop). */
  gatewayIngestMeanMs: number;
  /** Switchyard only: mean creation -> written to the sockets (ingest + hub queueing + fan-out). */
  gatewayFlushMeanMs: number;
  /** Switchyard only: the bucket bounds (ms) holding the p99 of the two legs above ("p99 <= X"). */
  gatewayIngestP99Ms: number;
  gatewayFlushP99Ms: number;
  /** Client side mean creation -> arrival, to compare with the two above. */
  meanMs: number;
  /** The machine's 1-minute load average at the end of the window (2 cores: above ~2.5 the numbers are noisy). */
  loadAvg: number;
}

const MB = 1024 * 1024;
const round = (n: number, d = 1) => (Number.isFinite(n) ? Math.round(n * 10 ** d) / 10 ** d : Number.NaN);

/**
 * Measures one system: ramp to N streams, sample idle RSS, publish at R/s, then count and time
 * the updates created inside the window, and the server's CPU over it. Closes the streams.
 */
export async function ssePhase(ctx: RunContext, sys: RunningSystem, spec: SsePhaseSpec): Promise<SseResult> {
  const { load } = ctx;
  const rss = new RssSampler(() => sys.pids()).start(250);
  await sleep(300);
  const rssBefore = rssBytes(sys.pids());
  load.target(sys.stream);
  const rampTimeout = 10_000 + (spec.streams / spec.rampPerSec) * 3000;
  const ramp = await load.rampTo(spec.streams, spec.rampPerSec, rampTimeout);
  ctx.log(
    `  ${sys.label}: ${ramp.established}/${spec.streams} streams${ramp.failed ? `, ${ramp.failed} failed ${JSON.stringify(ramp.failReasons)}` : ''}`,
  );
  await sleep(spec.settleS * 1000);
  const rssConnected = rssBytes(sys.pids());
  // Streams still in the accept queue at the end of the ramp may have joined since.
  const settled = (await load.stats()).established;

  const publisher = new Publisher(sys.sink, ctx.opts.seed);
  let t0 = Date.now();
  let t1 = t0;
  let cpu = 0;
  let loadCpu = 0;
  // The gateway's own latency legs (it observes every update it flushes).
  const metricsUrl =
    sys.name === 'switchyard' ? `http://${sys.stream.host}:${sys.stream.port}/metrics` : null;
  let legs0: LatencySums | null = null;
  let legs1: LatencySums | null = null;
  if (spec.rate > 0) {
    publisher.start(spec.rate);
    await sleep(spec.warmupS * 1000);
    t0 = Date.now() + 200;
    t1 = t0 + spec.windowS * 1000;
    load.window(t0, t1);
    await sleep(t0 - Date.now());
    const pids = sys.pids();
    const cpu0 = cpuSeconds(pids);
    const load0 = cpuSeconds(load.pids());
    legs0 = metricsUrl ? await readLatencySums(metricsUrl) : null;
    await sleep(t1 - Date.now());
    cpu = cpuSeconds(pids) - cpu0;
    loadCpu = cpuSeconds(load.pids()) - load0;
    legs1 = metricsUrl ? await readLatencySums(metricsUrl) : null;
    publisher.stop();
    await sleep(spec.drainS * 1000);
  } else {
    // Idle: CPU over the settle time only (heartbeats), no window.
    const pids = sys.pids();
    const cpu0 = cpuSeconds(pids);
    t0 = Date.now();
    await sleep(Math.max(1, spec.windowS) * 1000);
    t1 = Date.now();
    cpu = cpuSeconds(pids) - cpu0;
  }
  const s = await load.stats();
  const peak = rss.stop();
  await load.closeAll();

  const published = spec.rate > 0 ? publisher.countCreated(t0, t1) : 0;
  // Streams open when the window began; one joining later would make `received` exceed it.
  const windowStreams = spec.rate > 0 ? s.windowStreams : settled;
  const expected = published * windowStreams;
  const received = s.windowUpdates;
  const windowS = (t1 - t0) / 1000;
  const local = sys.pids().length > 0 || rssBefore > 0;
  return {
    system: sys.label,
    streams: spec.streams,
    connected: windowStreams,
    maxConnected: s.maxEstablished,
    failed: s.failed,
    failReasons: s.failReasons,
    closedByServer: s.closedByServer,
    rate: spec.rate,
    windowS: round(windowS, 1),
    published,
    expected,
    received,
    lossPct: expected > 0 ? round((100 * (expected - received)) / expected, 3) : 0,
    deliveredPerSec: round(received / Math.max(windowS, 0.001), 0),
    p50Ms: s.hist.quantile(0.5),
    p99Ms: s.hist.quantile(0.99),
    p999Ms: s.hist.quantile(0.999),
    maxMs: s.hist.total > 0 ? s.hist.max : Number.NaN,
    cpuSeconds: local ? round(cpu, 2) : Number.NaN,
    cpuCorePct: local ? round((100 * cpu) / Math.max(windowS, 0.001), 0) : Number.NaN,
    cpuUsPerUpdate: local && received > 0 ? round((cpu * 1e6) / received, 2) : Number.NaN,
    loadgenCorePct: round((100 * loadCpu) / Math.max(windowS, 0.001), 0),
    rssBeforeMB: local ? round(rssBefore / MB) : Number.NaN,
    rssConnectedMB: local ? round(rssConnected / MB) : Number.NaN,
    peakRssMB: local ? round(peak / MB) : Number.NaN,
    kbPerConnection:
      local && settled > 0 ? round((rssConnected - rssBefore) / 1024 / settled, 2) : Number.NaN,
    updatesPerRead: s.reads > 0 ? round(s.totalUpdates / s.reads, 2) : Number.NaN,
    publishErrors: publisher.sent > 0 ? sys.sink.errors : 0,
    sseErrors: s.errors,
    gatewayIngestMeanMs: round(meanLegs(legs0, legs1).ingestMs),
    gatewayFlushMeanMs: round(meanLegs(legs0, legs1).flushMs),
    gatewayIngestP99Ms: legQuantileMs(legs0, legs1, 'ingest', 0.99),
    gatewayFlushP99Ms: legQuantileMs(legs0, legs1, 'delivery', 0.99),
    meanMs: round(s.hist.mean()),
    loadAvg: round(loadavg()[0] ?? 0, 1),
  };
}
