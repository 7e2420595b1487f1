/**
 * The /compare page in real Chromium against a real gateway on the embedded demo feed: both
 * panels fill and keep updating, the latency tiles show the gateway's figures for both
 * transports, the CSP holds (no violation, no script error), and a screenshot is kept in
 * test-artifacts/compare-page.png for people to look at.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../gateway/switchyard.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { startServedGateway } from '../helpers/served-gateway.ts';

/** Short enough for a quick test, long enough that polling lags visibly behind SSE. */
const POLL_INTERVAL_MS = 4000;

test('the /compare page shows both transports updating and their latency', { timeout: 90_000 }, async (t) => {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
    DEMO_RATE: '20',
  });
  const { server } = await startServedGateway(t, config);

  const browser = await launchChromium(t, { viewport: { width: 1440, height: 1100 } });
  const page = browser.pages()[0] ?? (await browser.newPage());
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  const response = await page.goto(`${server.url}/compare`);
  assert.equal(response?.status(), 200);
  const csp = response?.headers()['content-security-policy'] ?? '';
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);

  const poll = page.locator('#poll-panel');
  const sse = page.locator('#sse-panel');
  // SSE: connected and counting updates; its totals table filled.
  await page.waitForFunction(
    () =>
      /connected · \d+ updates/.test(document.querySelector('#sse-panel [data-status]')?.textContent ?? ''),
    undefined,
    { timeout: 15_000 },
  );
  const sseUpdates = async () =>
    Number(
      (await sse.locator('[data-status]').textContent())?.match(/(\d[\d,]*) updates/)?.[1]?.replace(/,/g, ''),
    );
  const firstCount = await sseUpdates();
  // Polling: a second poll with news (the first only loads), so it changed after the first load.
  await page.waitForFunction(
    () => {
      const m = /(\d+) polls, (\d+) with news/.exec(
        document.querySelector('#poll-panel [data-status]')?.textContent ?? '',
      );
      return m !== null && Number(m[2]) >= 2;
    },
    undefined,
    { timeout: POLL_INTERVAL_MS * 3 },
  );
  assert.ok((await sseUpdates()) > firstCount, 'the SSE panel keeps receiving updates');
  for (const panel of [poll, sse]) {
    assert.ok((await panel.locator('[data-totals] tr').count()) > 0, 'totals table filled');
    assert.match((await panel.locator('[data-age]').textContent()) ?? '', /^\d+(\.\d+)? (s|min)$/);
    assert.match((await panel.locator('[data-client-p50]').textContent()) ?? '', /\d/);
  }
  // The gateway's own figures: both transports have percentiles, and the verdict line is drawn.
  await page.waitForFunction(
    () => ['poll-p50', 'sse-p50'].every((id) => /\d/.test(document.getElementById(id)?.textContent ?? '')),
    undefined,
    { timeout: POLL_INTERVAL_MS * 2 + 5000 },
  );
  const pollP50 = parseMs((await page.locator('#poll-p50').textContent()) ?? '');
  const sseP50 = parseMs((await page.locator('#sse-p50').textContent()) ?? '');
  assert.ok(pollP50 > sseP50, `polling p50 (${pollP50} ms) should exceed SSE p50 (${sseP50} ms)`);
  // Only what the buckets support: a lower bound on the ratio, never one from an interpolated median.
  assert.match((await page.locator('#headline').textContent()) ?? '', /SSE is at least [\d,]+× sooner/);
  assert.equal(
    await page.locator('#window').textContent(),
    'time since the gateway started (under a minute)',
  );
  // The chart has drawn (uPlot renders into a canvas inside #chart).
  assert.equal(await page.locator('#chart canvas').count(), 1);

  // Let a few more chart points and a poll ripple accumulate, then keep a picture.
  await page.waitForFunction(
    () =>
      /(\d+) polls/.exec(document.querySelector('#poll-panel [data-status]')?.textContent ?? '')?.[1] !== '2',
    undefined,
    { timeout: POLL_INTERVAL_MS * 2 },
  );
  mkdirSync('test-artifacts', { recursive: true });
  await page.screenshot({ path: join('test-artifacts', 'compare-page.png'), fullPage: true });
  assert.deepEqual(problems, [], 'no CSP violation or script error');
});

/** "4.0 ms" / "230 ms" / "2.10 s" / "< 1 ms" (the bucket's bound) -> ms. */
function parseMs(text: string): number {
  const m = /^(?:< )?([\d.]+) (ms|s)$/.exec(text.trim());
  assert.ok(m, `not a latency: "${text}"`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}
