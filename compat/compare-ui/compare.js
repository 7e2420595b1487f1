import { AgeChart } from './age-chart.js';
import { LatencyView } from './latency.js';
import { formatAge, Panel, ServerClock } from './panel.js';

/**
 * The /compare page: the left panel polls /v1/snapshot at the advertised interval (with
 * If-None-Match, as a well-behaved polling client does), the right one listens on /v1/stream.
 * Both render the same way; only the transport differs.
 */

const clock = new ServerClock();

async function loadConfig() {
  const sentAt = Date.now();
  const res = await fetch('/compare/config.json', { cache: 'no-store' });
  const config = await res.json();
  clock.sample(config.serverTime, sentAt, Date.now());
  return config;
}

function startPolling(panel, streams, intervalMs) {
  const url = `/v1/snapshot?streams=${encodeURIComponent(streams)}`;
  let etag = null;
  let lastPoll = 0;
  let nextPoll = 0;
  let polls = 0;
  let changed = 0;
  panel.setStatus(() => {
    if (lastPoll === 0) return 'first poll…';
    const next = Math.max(0, nextPoll - Date.now());
    return `${polls} polls, ${changed} with news · next in ${formatAge(next)}`;
  });
  const poll = async () => {
    const sentAt = Date.now();
    let interval = intervalMs;
    try {
      const res = await fetch(url, { cache: 'no-store', headers: etag ? { 'If-None-Match': etag } : {} });
      const receivedAt = Date.now();
      clock.sample(Number(res.headers.get('X-Server-Time')), sentAt, receivedAt);
      interval = Number(res.headers.get('X-Poll-Interval-Ms')) || intervalMs;
      if (res.status === 200) {
        const body = await res.json();
        panel.applySnapshot(body.streams, etag !== null);
        etag = res.headers.get('ETag');
        changed++;
      } else if (res.status !== 304) {
        const err = await res.json().catch(() => null);
        panel.setStatus(`error: ${err?.error?.code ?? res.status}`);
      }
      polls++;
      lastPoll = receivedAt;
    } catch {
      panel.setStatus('gateway unreachable, retrying…');
    }
    nextPoll = Date.now() + interval;
    setTimeout(poll, interval);
  };
  poll();
}

function startStreaming(panel, streams) {
  let updates = 0;
  let state = 'connecting…';
  panel.setStatus(() =>
    state === 'open' ? `connected · ${updates.toLocaleString('en-US')} updates` : state,
  );
  const es = new EventSource(`/v1/stream?streams=${encodeURIComponent(streams)}`);
  es.addEventListener('open', () => {
    state = 'open';
  });
  es.addEventListener('error', () => {
    state = 'reconnecting…';
  });
  es.addEventListener('snapshot', (e) => {
    panel.applySnapshot(JSON.parse(e.data).streams, false);
  });
  es.addEventListener('update', (e) => {
    updates++;
    panel.applyUpdate(JSON.parse(e.data));
  });
}

/** Puts a copy of the panel body (the page's #panel-body template) under each panel's head. */
function fillPanels() {
  const body = document.getElementById('panel-body').content;
  for (const id of ['poll-panel', 'sse-panel']) document.getElementById(id).append(body.cloneNode(true));
}

async function main() {
  fillPanels();
  const config = await loadConfig();
  for (const el of document.querySelectorAll('[data-interval]'))
    el.textContent = formatAge(config.pollIntervalMs);
  const streams = [config.feed, config.table].filter(Boolean).join(',');
  const opts = { clock, feed: config.feed, table: config.table };
  const poll = new Panel(document.getElementById('poll-panel'), { ...opts, color: '#f59e0b' });
  const sse = new Panel(document.getElementById('sse-panel'), { ...opts, color: '#38bdf8' });
  if (streams === '') {
    poll.setStatus('this gateway serves no feed or table stream to draw');
    sse.setStatus('this gateway serves no feed or table stream to draw');
  } else {
    startPolling(poll, streams, config.pollIntervalMs);
    startStreaming(sse, streams);
  }
  // About ten frames a second is plenty for ages and fading dots; none while the tab is hidden.
  let last = 0;
  const frame = (t) => {
    if (t - last >= 100) {
      last = t;
      poll.render();
      sse.render();
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  new AgeChart(document.getElementById('age-chart'), [poll, sse]).start();
  const latency = new LatencyView(document);
  const refresh = () =>
    latency.refresh().catch((err) => {
      document.getElementById('headline').textContent = `Latency figures unavailable: ${err.message}`;
    });
  refresh();
  setInterval(refresh, 2000);
}

main();
