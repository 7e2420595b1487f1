/**
 * The comparison's bookkeeping and its output: what each client saw (per transport), turned
 * into latency percentiles, delivered-vs-expected counts and the ratio between the transports.
 * Pure: no I/O, no clock.
 */

export type Transport = 'poll' | 'sse';

/**
 * Every delivery each client saw: latency samples per transport, and per update (identified by
 * stream, key and creation time) how many clients of each transport received it.
 */
export class Deliveries {
  readonly latencies: Record<Transport, number[]> = { poll: [], sse: [] };
  readonly bytes: Record<Transport, number> = { poll: 0, sse: 0 };
  readonly errors: Record<Transport, number> = { poll: 0, sse: 0 };
  readonly reconnects: Record<Transport, number> = { poll: 0, sse: 0 };
  private readonly updates = new Map<string, { createdAt: number; poll: number; sse: number }>();

  /** One update reaching one client at `arrivedAt` (both on the gateway's clock, epoch ms). */
  record(
    transport: Transport,
    stream: string,
    key: string | null,
    createdAt: number,
    arrivedAt: number,
  ): void {
    this.latencies[transport].push(arrivedAt - createdAt);
    const id = `${stream}\u0000${key ?? ''}\u0000${createdAt}`;
    let u = this.updates.get(id);
    if (!u) {
      u = { createdAt, poll: 0, sse: 0 };
      this.updates.set(id, u);
    }
    u[transport]++;
  }

  /**
   * Over the updates created in [from, to] (those every client had the time to receive), how
   * many deliveries each transport made out of `clients` per update.
   */
  coverage(from: number, to: number, clients: Record<Transport, number>): Coverage {
    let updates = 0;
    const delivered = { poll: 0, sse: 0 };
    for (const u of this.updates.values()) {
      if (u.createdAt < from || u.createdAt > to) continue;
      updates++;
      delivered.poll += Math.min(u.poll, clients.poll);
      delivered.sse += Math.min(u.sse, clients.sse);
    }
    return { updates, delivered, expected: { poll: updates * clients.poll, sse: updates * clients.sse } };
  }
}

export interface Coverage {
  /** Distinct updates created in the window. */
  updates: number;
  delivered: Record<Transport, number>;
  expected: Record<Transport, number>;
}

export interface LatencySummary {
  deliveries: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  meanMs: number | null;
}

/** Exact percentiles (nearest rank) of raw samples. */
export function summarise(samples: readonly number[]): LatencySummary {
  if (samples.length === 0)
    return { deliveries: 0, p50Ms: null, p95Ms: null, p99Ms: null, maxMs: null, meanMs: null };
  const s = Float64Array.from(samples).sort();
  const at = (q: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
  let sum = 0;
  for (const v of s) sum += v;
  return {
    deliveries: s.length,
    p50Ms: at(0.5),
    p95Ms: at(0.95),
    p99Ms: at(0.99),
    maxMs: s[s.length - 1]!,
    meanMs: sum / s.length,
  };
}

/** The machine-readable result (`--json`). */
export interface CompareResult {
  url: string;
  streams: string | null;
  clients: number;
  durationMs: number;
  pollIntervalMs: number;
  /** Added to this machine's clock to get the gateway's (0 when indistinguishable). */
  clockOffsetMs: number;
  /** Creation-time window over which delivered vs expected is counted, relative to the start. */
  window: { fromMs: number; toMs: number; updates: number };
  transports: Record<
    Transport,
    LatencySummary & {
      clients: number;
      delivered: number;
      expected: number;
      bytes: number;
      errors: number;
      reconnects: number;
    }
  >;
  /** Polling figure divided by the SSE one (null where either is missing or SSE is 0). */
  ratio: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
}

export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || b <= 0) return null;
  return a / b;
}

/** "2.1 ms", "340 ms", "5.03 s". */
export function formatMs(ms: number | null): string {
  if (ms === null) return 'n/a';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

function formatRatio(r: number | null): string {
  if (r === null) return 'n/a';
  return `${r >= 10 ? Math.round(r).toLocaleString('en-US') : r.toFixed(1)}x`;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The human-readable table. */
export function formatTable(r: CompareResult): string {
  const pad = (s: string, n: number): string => s.padStart(n);
  const cov = (t: Transport): string => {
    const { delivered, expected } = r.transports[t];
    if (expected === 0) return 'n/a';
    return `${delivered.toLocaleString('en-US')} / ${expected.toLocaleString('en-US')} (${((100 * delivered) / expected).toFixed(1)}%)`;
  };
  const row = (label: string, cells: string[], last: string): string =>
    `${label.padEnd(16)}${cells.map((c) => pad(c, 11)).join('')}   ${last}`;
  const t = r.transports;
  const seconds = (ms: number): string => `${Math.round(ms / 100) / 10} s`;
  const lines = [
    `Switchyard compare: ${r.url}  streams=${r.streams ?? '(all)'}  ${r.clients} polling + ${r.clients} SSE clients  ` +
      `${seconds(r.durationMs)}  poll interval ${seconds(r.pollIntervalMs)}`,
    '',
    row('creation->arrival', ['p50', 'p95', 'p99', 'max'], 'updates delivered / expected'),
    row(
      `Polling (${t.poll.clients})`,
      [t.poll.p50Ms, t.poll.p95Ms, t.poll.p99Ms, t.poll.maxMs].map(formatMs),
      cov('poll'),
    ),
    row(
      `SSE (${t.sse.clients})`,
      [t.sse.p50Ms, t.sse.p95Ms, t.sse.p99Ms, t.sse.maxMs].map(formatMs),
      cov('sse'),
    ),
    row('Polling / SSE', [r.ratio.p50, r.ratio.p95, r.ratio.p99, r.ratio.max].map(formatRatio), ''),
    '',
    `Deliveries measured: polling ${t.poll.deliveries.toLocaleString('en-US')}, SSE ${t.sse.deliveries.toLocaleString('en-US')}. ` +
      `Bytes received: polling ${formatBytes(t.poll.bytes)}, SSE ${formatBytes(t.sse.bytes)}.`,
    r.window.updates > 0
      ? `Expected: the ${r.window.updates.toLocaleString('en-US')} updates created ${seconds(r.window.fromMs)}-${seconds(r.window.toMs)} ` +
        'into the run (time for every client to get them) x clients; polling misses table rows overwritten between two polls.'
      : 'Expected: n/a (run for more than two poll intervals to count delivered vs expected).',
  ];
  const problems = (['poll', 'sse'] as const)
    .filter((k) => t[k].errors > 0 || t[k].reconnects > 0)
    .map((k) => `${k}: ${t[k].errors} errors, ${t[k].reconnects} reconnects`);
  if (problems.length > 0) lines.push(`Problems: ${problems.join('; ')}.`);
  if (r.clockOffsetMs !== 0)
    lines.push(`Clock offset to the gateway applied: ${r.clockOffsetMs.toFixed(1)} ms.`);
  return `${lines.join('\n')}\n`;
}
