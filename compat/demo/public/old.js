// The old page: fetch the whole snapshot every 10 seconds.
import { render, showStatus } from './view.js';

async function refresh() {
  try {
    const res = await fetch('/v1/snapshot?streams=orders,totals');
    if (res.ok) render(await res.json());
    showStatus(`polling every 10 s (HTTP ${res.status})`);
  } catch (err) {
    showStatus(`poll failed: ${err.message}`);
  }
}
refresh();
setInterval(refresh, 10_000);
