import { drawWorld, project } from './world.js';

/** How long a dot stays on the map (it fades meanwhile), and how long its arrival ripple lasts. */
const FADE_MS = 30_000;
const RIPPLE_MS = 1_500;
const MAX_DOTS = 600;
const MAX_SEEN = 5_000;
const MAX_SAMPLES = 500;
const TOP_COUNTRIES = 8;
const HIGHLIGHT_MS = 500;

const COUNTRY_NAMES = {
  AE: 'United Arab Emirates',
  AR: 'Argentina',
  AU: 'Australia',
  BR: 'Brazil',
  CA: 'Canada',
  DE: 'Germany',
  ES: 'Spain',
  FR: 'France',
  GB: 'United Kingdom',
  IN: 'India',
  JP: 'Japan',
  KR: 'South Korea',
  MX: 'Mexico',
  NG: 'Nigeria',
  NL: 'Netherlands',
  NZ: 'New Zealand',
  SE: 'Sweden',
  SG: 'Singapore',
  US: 'United States',
  ZA: 'South Africa',
};

const usd = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const int = new Intl.NumberFormat('en-US');

/**
 * The gateway's clock as seen from here: record creation times are stamped on the server
 * side, so ages and latencies use `now()` rather than this machine's clock. The estimate is
 * NTP-like: server time minus the midpoint of the request that carried it, from the fastest
 * round trip seen.
 */
export class ServerClock {
  offset = 0;
  bestRtt = Number.POSITIVE_INFINITY;

  sample(serverTime, sentAt, receivedAt) {
    const rtt = receivedAt - sentAt;
    if (!Number.isFinite(serverTime) || serverTime <= 0 || rtt > this.bestRtt) return;
    this.bestRtt = rtt;
    const offset = serverTime - (sentAt + receivedAt) / 2;
    // Within half a round trip the clocks cannot be told apart: trust them rather than add noise.
    this.offset = Math.abs(offset) <= rtt / 2 + 5 ? 0 : offset;
  }

  now() {
    return Date.now() + this.offset;
  }
}

/** "0.04 s", "7.3 s", "2 min". */
export function formatAge(ms) {
  if (!Number.isFinite(ms)) return '–';
  const s = Math.max(0, ms) / 1000;
  if (s < 10) return `${s.toFixed(s < 1 ? 2 : 1)} s`;
  if (s < 120) return `${Math.round(s)} s`;
  return `${Math.round(s / 60)} min`;
}

/** "4 ms", "230 ms", "5.1 s". */
export function formatLatency(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * One side of the page: what one transport has delivered to this browser, drawn the same way
 * for both. Feed items become dots (placed by their value's lat/lon, sized by amountUsd);
 * table rows become the per-country totals. Every item new to this panel after its first load
 * is a delivery: its latency (gateway clock now - createdAt) is kept for the "measured here"
 * median, the same measure as `npx switchyard compare`.
 */
export class Panel {
  constructor(root, { clock, feed, table, color }) {
    this.root = root;
    this.clock = clock;
    this.feed = feed;
    this.table = table;
    this.color = color;
    this.canvas = root.querySelector('[data-map]');
    this.ageEl = root.querySelector('[data-age]');
    this.statusEl = root.querySelector('[data-status]');
    this.clientP50El = root.querySelector('[data-client-p50]');
    this.totalsEl = root.querySelector('[data-totals]');
    this.totalsAgeEl = root.querySelector('[data-totals-age]');
    /** key -> { lon, lat, r, createdAt, arrivedAt } */
    this.dots = new Map();
    /** Feed keys already shown, so a poll does not count an item twice. */
    this.seen = new Map();
    /** country -> { orders, revenueUsd, createdAt } */
    this.totals = new Map();
    /** country -> when its row last changed here (highlighted for HIGHLIGHT_MS). */
    this.changedAt = new Map();
    this.totalsRenderedAt = 0;
    this.totalsDirty = false;
    this.latencies = [];
    this.delivered = 0;
    this.status = 'connecting…';
    this.world = null;
    /** Age of the newest item shown (ms) at the last render, or null. */
    this.age = null;
  }

  setStatus(text) {
    this.status = text;
  }

  /** A full snapshot (`streams` of /v1/snapshot or of the SSE `snapshot` event). */
  applySnapshot(streams, measure) {
    const feed = this.feed && streams[this.feed];
    if (feed?.items)
      for (const item of feed.items) this.addItem(item.key, item.value, item.createdAt, measure);
    const table = this.table && streams[this.table];
    if (table?.entries) {
      const keys = new Set(Object.keys(table.entries));
      for (const [key, row] of Object.entries(table.entries))
        this.setRow(key, row.value, row.createdAt, measure);
      for (const key of [...this.totals.keys()]) if (!keys.has(key)) this.deleteRow(key);
    }
  }

  /** One SSE `update` event's data. */
  applyUpdate(u) {
    if (u.stream === this.feed) this.addItem(u.key, u.value, u.createdAt, true);
    else if (u.stream === this.table) {
      if (u.op === 'delete') this.deleteRow(u.key);
      else this.setRow(u.key, u.value, u.createdAt, true);
    }
  }

  addItem(key, value, createdAt, measure) {
    const id = key ?? `${createdAt}:${JSON.stringify(value).length}`;
    if (this.seen.has(id)) return;
    this.seen.set(id, true);
    if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.keys().next().value);
    if (measure) this.measured(createdAt);
    if (typeof value?.lat !== 'number' || typeof value?.lon !== 'number') return;
    const amount = typeof value.amountUsd === 'number' ? value.amountUsd : 50;
    this.dots.set(id, {
      lon: value.lon,
      lat: value.lat,
      r: Math.min(7, 2 + Math.sqrt(amount) / 4),
      createdAt,
      arrivedAt: measure ? Date.now() : 0,
    });
    if (this.dots.size > MAX_DOTS) this.dots.delete(this.dots.keys().next().value);
  }

  setRow(key, value, createdAt, measure) {
    const prev = this.totals.get(key);
    if (prev && prev.createdAt === createdAt) return;
    if (measure) this.measured(createdAt);
    this.totals.set(key, {
      orders: Number(value?.orders ?? 0),
      revenueUsd: Number(value?.revenueUsd ?? 0),
      createdAt,
    });
    this.changedAt.set(key, Date.now());
    this.totalsDirty = true;
  }

  deleteRow(key) {
    if (this.totals.delete(key)) this.totalsDirty = true;
  }

  measured(createdAt) {
    this.delivered++;
    this.latencies.push(this.clock.now() - createdAt);
    if (this.latencies.length > MAX_SAMPLES) this.latencies.shift();
  }

  /** Redraws the map and the figures; called on a timer (cheap: the world is pre-rendered). */
  render() {
    const now = this.clock.now();
    const local = Date.now();
    this.drawMap(now, local);
    let newest = Number.NEGATIVE_INFINITY;
    for (const d of this.dots.values()) if (d.createdAt > newest) newest = d.createdAt;
    let newestRow = Number.NEGATIVE_INFINITY;
    for (const t of this.totals.values()) if (t.createdAt > newestRow) newestRow = t.createdAt;
    const age = now - Math.max(newest, newestRow);
    this.age = Number.isFinite(age) ? age : null;
    this.ageEl.textContent = formatAge(age);
    this.ageEl.className = !Number.isFinite(age) ? '' : age < 1000 ? 'fresh' : age < 5000 ? 'aging' : 'old';
    this.statusEl.textContent = typeof this.status === 'function' ? this.status() : this.status;
    this.clientP50El.textContent = formatLatency(median(this.latencies));
    this.totalsAgeEl.textContent = Number.isFinite(newestRow)
      ? `· last change ${formatAge(now - newestRow)} ago`
      : '';
    // A few table renders a second: highlights come and go without CSS animations to repaint.
    if (local - this.totalsRenderedAt >= 250 && (this.totalsDirty || this.highlighted(local)))
      this.renderTotals(local);
  }

  drawMap(now, local) {
    const c = this.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(c.clientWidth * dpr));
    const h = Math.max(1, Math.round(c.clientHeight * dpr));
    if (c.width !== w || c.height !== h || !this.world) {
      c.width = w;
      c.height = h;
      this.world = document.createElement('canvas');
      this.world.width = w;
      this.world.height = h;
      drawWorld(this.world.getContext('2d'), w, h, { sea: '#0b1324', land: '#243049', grid: '#16203a' });
    }
    const ctx = c.getContext('2d');
    ctx.drawImage(this.world, 0, 0);
    for (const [id, d] of this.dots) {
      const age = now - d.createdAt;
      if (age > FADE_MS) {
        this.dots.delete(id);
        continue;
      }
      const [x, y] = project(d.lon, d.lat, w, h);
      ctx.globalAlpha = Math.max(0.15, 1 - age / FADE_MS);
      ctx.fillStyle = this.color;
      ctx.beginPath();
      ctx.arc(x, y, d.r * dpr, 0, Math.PI * 2);
      ctx.fill();
      const since = local - d.arrivedAt;
      if (since < RIPPLE_MS) {
        const p = since / RIPPLE_MS;
        ctx.globalAlpha = 1 - p;
        ctx.strokeStyle = '#ffffff';
        ctx.lineWidth = 1.5 * dpr;
        ctx.beginPath();
        ctx.arc(x, y, (d.r + 14 * p) * dpr, 0, Math.PI * 2);
        ctx.stroke();
      }
    }
    ctx.globalAlpha = 1;
  }

  highlighted(local) {
    for (const t of this.changedAt.values()) if (local - t < HIGHLIGHT_MS + 250) return true;
    return false;
  }

  renderTotals(local) {
    const rows = [...this.totals.entries()]
      .sort((a, b) => b[1].revenueUsd - a[1].revenueUsd)
      .slice(0, TOP_COUNTRIES);
    const frag = document.createDocumentFragment();
    for (const [country, t] of rows) {
      const tr = document.createElement('tr');
      if (local - (this.changedAt.get(country) ?? 0) < HIGHLIGHT_MS) tr.className = 'changed';
      const cells = [COUNTRY_NAMES[country] ?? country, int.format(t.orders), `$${usd.format(t.revenueUsd)}`];
      cells.forEach((text, i) => {
        const td = document.createElement('td');
        td.textContent = text;
        if (i > 0) td.className = 'num';
        tr.append(td);
      });
      frag.append(tr);
    }
    this.totalsEl.replaceChildren(frag);
    this.totalsDirty = false;
    this.totalsRenderedAt = local;
  }
}
