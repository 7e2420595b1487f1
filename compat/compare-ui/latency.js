import { formatLatency } from './panel.js';
import { timeChart } from './time-chart.js';

const POINTS = 180;
const POLL = '#f59e0b';
const SSE = '#38bdf8';

const QUANTILES = [
  ['p50', 2.5, []],
  ['p95', 1.5, [6, 4]],
  ['p99', 1, [2, 4]],
];

function series(label, color) {
  return QUANTILES.map(([q, width, dash]) => ({
    label: `${label} ${q}`,
    stroke: color,
    width,
    dash,
    spanGaps: true,
    value: (_u, v) => formatLatency(v),
  }));
}

/** Log axis ticks as "1 ms", "10 ms", "1 s"... */
function tickLabel(ms) {
  if (ms === null) return null;
  if (ms < 1) return `${ms} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${Math.round(ms / 1000)} s`;
}

/**
 * The gateway's own latency figures (GET /v1/stats/latency: the histograms of /metrics) as
 * percentile tiles, a one-line verdict, and p50/p95/p99 per transport over time.
 */
export class LatencyView {
  constructor(doc) {
    this.doc = doc;
    this.data = [[], [], [], [], [], [], []];
    const el = doc.getElementById('chart');
    this.el = el;
    this.plot = timeChart(
      el,
      {
        y: { distr: 3, log: 10 },
        yAxis: { size: 60, values: (_u, ticks) => ticks.map(tickLabel) },
        series: [{}, ...series('Polling', POLL), ...series('SSE', SSE)],
      },
      this.data,
    );
  }

  async refresh() {
    const res = await fetch('/v1/stats/latency', { cache: 'no-store' });
    if (!res.ok) throw new Error(`stats: HTTP ${res.status}`);
    const s = await res.json();
    const pick = (name) => (s.recent[name].count > 0 ? s.recent[name] : s.total[name]);
    const poll = pick('poll');
    const sse = pick('sse');
    this.tiles('poll', poll);
    this.tiles('sse', sse);
    this.headline(poll, sse, s.pollIntervalMs);
    // One stated window (docs/observability.md): the last minute, or everything since start while
    // the gateway is younger than that.
    this.doc.getElementById('window').textContent =
      s.windowSeconds === null ? 'time since the gateway started (under a minute)' : 'last minute';
    const ms = (v) => (v === null ? null : Math.max(0.05, v * 1000));
    const row = [
      s.serverTime / 1000,
      ms(poll.p50),
      ms(poll.p95),
      ms(poll.p99),
      ms(sse.p50),
      ms(sse.p95),
      ms(sse.p99),
    ];
    row.forEach((v, i) => {
      this.data[i].push(v);
      if (this.data[i].length > POINTS) this.data[i].shift();
    });
    this.plot.setData(this.data);
  }

  tiles(name, q) {
    for (const k of ['p50', 'p95', 'p99'])
      this.doc.getElementById(`${name}-${k}`).textContent = bucketText(q, k);
    this.doc.getElementById(`${name}-count`).textContent =
      q.count > 0 ? `${q.count.toLocaleString('en-US')} deliveries measured` : 'no deliveries measured yet';
  }

  headline(poll, sse, intervalMs) {
    const el = this.doc.getElementById('headline');
    el.replaceChildren();
    const span = (cls, text) => {
      const s = this.doc.createElement('span');
      s.className = cls;
      s.textContent = text;
      return s;
    };
    if (poll.p50 === null || sse.p50 === null) {
      el.append(
        poll.p50 === null
          ? `Polling has no figure until a client polls twice (every ${formatLatency(intervalMs)}): the first poll only loads the page.`
          : 'Waiting for the first update over SSE…',
      );
      return;
    }
    // Only what the histogram's buckets support: the medians lie somewhere in their buckets, so
    // the ratio claimed is the smallest one those bounds allow (poll's lower / SSE's upper bound).
    const [pollLow] = poll.buckets.p50;
    const sseHigh = sse.buckets.p50[1];
    const ratio = sseHigh === null || sseHigh <= 0 ? 0 : pollLow / sseHigh;
    el.append(
      'Half of the updates reach SSE clients within ',
      span('sse-text', bucketText(sse, 'p50')),
      ' and polling clients within ',
      span('poll-text', bucketText(poll, 'p50')),
      ratio >= 2
        ? `: SSE is at least ${Math.floor(ratio).toLocaleString('en-US')}× sooner.`
        : ': the histogram buckets cannot tell them further apart.',
    );
  }
}

/**
 * A quantile as the histogram supports it: "< 1 ms" when it lies in the first bucket, "> 60 s"
 * beyond the last, else the interpolated value (the bucket's bounds in the tooltip of docs).
 */
export function bucketText(q, k) {
  if (q[k] === null || !q.buckets) return formatLatency(null);
  const [lo, hi] = q.buckets[k];
  if (lo === 0 && hi !== null) return `< ${boundText(hi)}`;
  if (hi === null) return `> ${boundText(lo)}`;
  return formatLatency(q[k] * 1000);
}

/** A bucket bound (seconds) as written in the histogram: 0.001 -> "1 ms", 2.5 -> "2.5 s". */
function boundText(seconds) {
  const ms = Math.round(seconds * 1e6) / 1e3;
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
}
