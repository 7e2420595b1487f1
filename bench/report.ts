/** Renders scenario results as plain-text tables (Markdown-compatible, for docs/benchmarks.md). */
import type { PollRow } from './phases/poll-phase.ts';
import type { SseResult } from './phases/sse-phase.ts';
import type { ScenarioResult, TargetCheck } from './scenarios.ts';
import type { WorkersRow } from './workers.ts';

type Cell = string | number;

function fmt(v: Cell): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return 'n/a';
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 100) / 100);
}

/** A Markdown table with aligned columns (numbers right-aligned). */
export function table(head: string[], rows: Cell[][]): string {
  const cells = rows.map((r) => r.map(fmt));
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[], numeric: boolean[]) =>
    `| ${r.map((c, i) => (numeric[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join(' | ')} |`;
  const numeric = head.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const sep = `|${width.map((w, i) => (numeric[i] ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [
    line(
      head,
      head.map(() => false),
    ),
    sep,
    ...cells.map((r) => line(r, numeric)),
  ].join('\n');
}

const ratio = (a: number, b: number) => (b > 0 && Number.isFinite(a) ? `${(a / b).toFixed(2)}x` : 'n/a');

function sseTable(rows: SseResult[]): string {
  const sy = rows.find((r) => r.system.startsWith('switchyard'));
  const plain = rows.find((r) => r.system === 'plain-node');
  const nchan = rows.find((r) => r.system === 'nginx+nchan');
  /** Switchyard's row against `base` on one figure; blank on the other rows. */
  const vs = (r: SseResult, base: SseResult | undefined, figure: (x: SseResult) => number): Cell =>
    r === sy && base ? ratio(figure(r), figure(base)) : '';
  const idle = rows.every((r) => r.rate === 0);
  if (idle)
    return table(
      [
        'system',
        'streams',
        'connected',
        'RSS before MB',
        'RSS connected MB',
        'KB/conn',
        'vs plain',
        'vs nchan',
        'load avg',
      ],
      rows.map((r) => [
        r.system,
        r.streams,
        r.maxConnected,
        r.rssBeforeMB,
        r.rssConnectedMB,
        r.kbPerConnection,
        vs(r, plain, (x) => x.kbPerConnection),
        vs(r, nchan, (x) => x.kbPerConnection),
        r.loadAvg,
      ]),
    );
  return table(
    [
      'system',
      'streams',
      'max conns',
      'expected',
      'received',
      'loss %',
      'p50 ms',
      'p99 ms',
      'max ms',
      'CPU s',
      'CPU % core',
      'CPU us/update',
      'peak RSS MB',
      'KB/conn',
      'loadgen % core',
      'cpu/upd vs plain',
      'cpu/upd vs nchan',
      'p99 vs nchan',
      'load avg',
    ],
    rows.map((r) => [
      r.system,
      r.connected,
      r.maxConnected,
      r.expected,
      r.received,
      r.lossPct,
      r.p50Ms,
      r.p99Ms,
      r.maxMs,
      r.cpuSeconds,
      r.cpuCorePct,
      r.cpuUsPerUpdate,
      r.peakRssMB,
      r.kbPerConnection,
      r.loadgenCorePct,
      vs(r, plain, (x) => x.cpuUsPerUpdate),
      vs(r, nchan, (x) => x.cpuUsPerUpdate),
      vs(r, nchan, (x) => x.p99Ms),
      r.loadAvg,
    ]),
  );
}

function pollTable(rows: PollRow[]): string {
  return table(
    [
      'system',
      'resource',
      'variant',
      'body bytes',
      'req/s',
      'p50 ms',
      'p99 ms',
      'wrong status',
      'CPU us/req',
      'vs NGINX',
    ],
    rows.map((r) => {
      const ng = rows.find((x) => x.system === 'nginx+nchan' && x.variant === r.variant);
      return [
        r.system === 'nginx+nchan' ? 'nginx static' : r.system,
        r.resource,
        r.variant,
        r.bodyBytes,
        r.requestsPerSec,
        r.latencyP50Ms,
        r.latencyP99Ms,
        r.wrongStatus + r.errors,
        r.cpuUsPerRequest,
        r.system !== 'nginx+nchan' && ng ? ratio(r.requestsPerSec, ng.requestsPerSec) : '',
      ];
    }),
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};

/** The rows (round by round), then per WORKERS the median and range of each figure. */
function workersTable(rows: readonly WorkersRow[]): string {
  const perRow = table(
    [
      'round',
      'WORKERS',
      'streams',
      'deliveries/s',
      'loss %',
      'p50 ms',
      'p99 ms',
      'CPU % core',
      'CPU us/delivery',
      'peak RSS MB',
      'polls/s',
      'poll p99 ms',
      'poll failures',
      'loadgen % core',
      'load avg',
    ],
    rows.map((r) => [
      r.round,
      r.workers,
      r.sse.connected,
      r.sse.deliveredPerSec,
      r.sse.lossPct,
      r.sse.p50Ms,
      r.sse.p99Ms,
      r.sse.cpuCorePct,
      r.sse.cpuUsPerUpdate,
      r.sse.peakRssMB,
      r.pollsPerSec,
      r.pollP99Ms,
      r.pollFailures,
      r.sse.loadgenCorePct,
      r.sse.loadAvg,
    ]),
  );
  const figure = (name: string, get: (r: WorkersRow) => number) => {
    const cells = [1, 2].map((w) => {
      const xs = rows.filter((r) => r.workers === w).map(get);
      return xs.length === 0 ? 'n/a' : `${median(xs)} (${Math.min(...xs)}-${Math.max(...xs)})`;
    });
    return [name, ...cells];
  };
  const summary = table(
    ['median (range) over rounds', 'WORKERS=1', 'WORKERS=2'],
    [
      figure('deliveries/s', (r) => r.sse.deliveredPerSec),
      figure('p50 ms', (r) => r.sse.p50Ms),
      figure('p99 ms', (r) => r.sse.p99Ms),
      figure('CPU % core', (r) => r.sse.cpuCorePct),
      figure('CPU us/delivery', (r) => r.sse.cpuUsPerUpdate),
      figure('peak RSS MB', (r) => r.sse.peakRssMB),
      figure('poll p99 ms', (r) => r.pollP99Ms),
    ],
  );
  return `${perRow}\n\n${summary}`;
}

export function renderScenario(r: ScenarioResult): string {
  const out: string[] = [`### ${r.name}: ${r.title}`, ''];
  const p = r.params;
  if ('streams' in p || 'rate' in p)
    out.push(
      `streams ${p.streams ?? ''}, ${p.rate ?? 0} updates/s, window ${p.windowS ?? ''} s`.replace(/ ,/g, ','),
      '',
    );
  if (r.sse && r.sse.length > 0) {
    out.push(sseTable(r.sse), '');
    for (const row of r.sse)
      if (Number.isFinite(row.gatewayIngestMeanMs))
        out.push(
          `${row.system} latency legs (means over the window): created -> applied to the cache ${row.gatewayIngestMeanMs} ms (Kafka hop; p99 <= ${row.gatewayIngestP99Ms} ms), -> written to the sockets ${row.gatewayFlushMeanMs} ms (p99 <= ${row.gatewayFlushP99Ms} ms), -> read by the client ${row.meanMs} ms (p99 ${row.p99Ms} ms).`,
          '',
        );
  }
  for (const ramp of r.ramps ?? []) {
    out.push(
      `${ramp.system}:`,
      '',
      table(
        [
          'streams',
          'connected',
          'loss %',
          'p50 ms',
          'p99 ms',
          'max ms',
          'updates/s',
          'CPU % core',
          'CPU us/update',
          'loadgen % core',
          'RSS MB',
          'ok',
        ],
        ramp.steps.map((s) => [
          s.streams,
          s.connected,
          s.lossPct,
          s.p50Ms,
          s.p99Ms,
          s.maxMs,
          s.deliveredPerSec,
          s.cpuCorePct,
          s.cpuUsPerUpdate,
          s.loadgenCorePct,
          s.rssMB,
          s.ok ? 'yes' : 'NO',
        ]),
      ),
      '',
      `Most streams with p99 < 1 s: **${ramp.maxStreamsUnder1s}**, ${ramp.deliveredAtMax} updates/s delivered (${ramp.limit}).`,
      '',
    );
  }
  if (r.poll && r.poll.length > 0) out.push(pollTable(r.poll), '');
  if (r.workers && r.workers.length > 0) out.push(workersTable(r.workers), '');
  for (const e of r.errors) out.push(`- ERROR ${e.system}: ${e.error}`);
  for (const n of r.notes) out.push(`- note: ${n}`);
  if (r.errors.length + r.notes.length > 0) out.push('');
  return out.join('\n');
}

export function renderTargets(results: readonly ScenarioResult[]): string {
  const rows: Array<[string, TargetCheck]> = [];
  for (const r of results) for (const t of r.targets) rows.push([r.name, t]);
  return table(
    ['scenario', 'target', 'measured', 'met'],
    rows.map(([s, t]) => [s, t.target, t.measured, t.met === null ? 'pending' : t.met ? 'yes' : 'NO']),
  );
}
