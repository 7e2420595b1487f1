/**
 * Shared set-up of the client-kit browser tests: a gateway on the real broker (fresh topics for
 * its streams and a fresh compacted rollout topic), a test page that runs the kit with options
 * from its query string and exposes state and status on `window`, and real Chromium
 * (Debian's, through playwright-core) with a fresh profile. Everything is torn down on t.after.
 */
import express from 'express';
import type { BrowserContext, Page } from 'playwright-core';
import type { ClientState, KitStatus } from '../../compat/client/types.ts';
import type { GatewayContext } from '../../gateway/context.ts';
import { createApp } from '../../gateway/http/app.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { createGateway, loadConfig, startGateway, stopGateway } from '../../gateway/switchyard.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { createTopic, produce } from '../helpers/kafka.ts';
import { listen, type Teardown, type TestServer, WAIT_GUARD_MS } from '../helpers/sse-client.ts';

export const ADMIN_TOKEN = 'browser-test-admin-token';
/** Short, so polling pages catch up quickly; the kit reads it from X-Poll-Interval-Ms. */
export const POLL_INTERVAL_MS = 300;

declare global {
  interface Window {
    kitState?: ClientState;
    kitStatus?: KitStatus;
    kitStatuses: KitStatus[];
    kitErrors: string[];
  }
}

/** The test page: runs connect() with the JSON options of `?opts=`. Scripts in files (CSP-friendly). */
function testPageRouter(): express.Router {
  const r = express.Router();
  r.get('/test/kit.html', (_req, res) => {
    res
      .type('html')
      .send(
        '<!doctype html><meta charset="utf-8"><title>kit</title><script type="module" src="/test/kit.js"></script>',
      );
  });
  r.get('/test/kit.js', (_req, res) => {
    res.type('text/javascript').send(`
      import { connect } from '/v1/client.js';
      window.kitStatuses = [];
      window.kitErrors = [];
      const opts = JSON.parse(new URLSearchParams(location.search).get('opts') || '{}');
      window.kit = connect({
        ...opts,
        onState: (s) => { window.kitState = s; },
        onStatus: (s) => { window.kitStatus = s; window.kitStatuses.push(s); },
      });
    `);
  });
  return r;
}

export interface KitGateway {
  readonly ctx: GatewayContext;
  readonly server: TestServer;
  readonly url: string;
  readonly topics: { orders: string; totals: string; rollout: string };
  /** Produces `n` orders and `n` totals upserts (over 20 countries) to the real broker. */
  burst(n: number, tag: string): Promise<void>;
  /** Once the gateway applied every record produced so far: what a poll answers (the reference state). */
  settled(): Promise<ClientState>;
  /** `PUT /v1/admin/rollout`. */
  setRules(rules: Record<string, unknown>): Promise<void>;
}

export async function startKitGateway(t: Teardown, env: Record<string, string> = {}): Promise<KitGateway> {
  // One at a time: concurrent creations sometimes race the broker's metadata (UNKNOWN_TOPIC_OR_PARTITION).
  const orders = await createTopic('kit-orders', { partitions: 2 });
  const totals = await createTopic('kit-totals', { partitions: 2, compacted: true });
  const rollout = await createTopic('kit-rollout', { compacted: true });
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    KAFKA_BROKERS: process.env.KAFKA_BROKERS,
    STREAMS: `orders:feed:${orders},totals:table:${totals}`,
    ROLLOUT_TOPIC: rollout,
    POLL_INTERVAL_MS: String(POLL_INTERVAL_MS),
    RETRY_MS: '500',
    ADMIN_TOKEN,
    RATE_LIMIT_PER_SECOND: '0',
    ...env,
  });
  const ctx = createGateway(config, { metrics: new GatewayMetrics({ defaultMetrics: false }) });
  const server = await listen(createApp(ctx, { routers: [testPageRouter()] }));
  t.after(async () => {
    await server.close();
    await stopGateway(ctx);
  });
  await startGateway(ctx);
  const deadline = Date.now() + 60_000;
  while (!ctx.cache.isReady()) {
    if (Date.now() > deadline) throw new Error('gateway not ready after 60 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = server.url;
  const produced = { orders: 0, totals: 0 };
  const applied = (name: 'orders' | 'totals') =>
    (ctx.cache.streams.get(name)?.offsets ?? []).reduce((a, b) => a + b, 0);
  return {
    ctx,
    server,
    url,
    topics: { orders, totals, rollout },
    async burst(n, tag) {
      const now = Date.now() - n;
      await produce(
        orders,
        Array.from({ length: n }, (_, i) => ({
          key: `${tag}-${i}`,
          value: JSON.stringify({ id: `${tag}-${i}`, city: 'Paris', country: 'FR', amountUsd: i }),
          // Distinct creation times: a feed's order is then fully defined (docs/protocol.md).
          timestamp: now + i,
        })),
      );
      produced.orders += n;
      await produce(
        totals,
        Array.from({ length: n }, (_, i) => ({
          key: `C${i % 20}`,
          value: JSON.stringify({ country: `C${i % 20}`, orders: i, revenueUsd: i * 1.5, tag }),
          timestamp: now + i,
        })),
      );
      produced.totals += n;
    },
    async settled() {
      const until = Date.now() + WAIT_GUARD_MS;
      while (applied('orders') < produced.orders || applied('totals') < produced.totals) {
        if (Date.now() > until) throw new Error('the gateway did not apply what was produced');
        await new Promise((r) => setTimeout(r, 20));
      }
      const res = await fetch(`${url}/v1/snapshot?streams=orders,totals`);
      return (await res.json()) as ClientState;
    },
    async setRules(rules) {
      const res = await fetch(`${url}/v1/admin/rollout`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(rules),
      });
      if (res.status !== 200) throw new Error(`PUT rollout: ${res.status} ${await res.text()}`);
    },
  };
}

/** Real Chromium with a fresh profile, closed on `t.after`. */
export function startBrowser(t: Teardown): Promise<BrowserContext> {
  return launchChromium(t, { profilePrefix: 'switchyard-kit-chromium-' });
}

/**
 * The start of every kit test: a kit gateway whose rollout rules are `rules` (`PUT
 * /v1/admin/rollout`) and a browser; both torn down on `t.after`.
 */
export async function startKitBrowser(
  t: Teardown,
  rules: Record<string, unknown>,
): Promise<{ gw: KitGateway; browser: BrowserContext }> {
  const gw = await startKitGateway(t);
  await gw.setRules(rules);
  return { gw, browser: await startBrowser(t) };
}

/** Opens the test page with kit options; records page errors in `window.kitErrors` for asserts. */
export async function openKitPage(
  browser: BrowserContext,
  base: string,
  opts: Record<string, unknown>,
): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as unknown as { kitPageErrors: string[] }).kitPageErrors = errors;
  await page.goto(
    `${base}/test/kit.html?opts=${encodeURIComponent(JSON.stringify({ streams: ['orders', 'totals'], ...opts }))}`,
  );
  return page;
}

/** Page errors seen so far (script exceptions). */
export function pageErrors(page: Page): string[] {
  return (page as unknown as { kitPageErrors?: string[] }).kitPageErrors ?? [];
}

/** Where a page's kit lives: the test page's globals, or the demo page's `window.demo` handle. */
export type KitLocation = 'test' | 'demo';

/** Waits until the page's kit state sits at `position`. */
export async function waitPosition(page: Page, position: string, where: KitLocation = 'test'): Promise<void> {
  await page.waitForFunction(
    ([pos, w]) => {
      const s =
        w === 'demo' ? (window as unknown as { demo?: { state: ClientState } }).demo?.state : window.kitState;
      return s?.position === pos;
    },
    [position, where] as const,
    { timeout: WAIT_GUARD_MS, polling: 50 },
  );
}

/** Waits until the page's kit status has the wanted fields; returns it. */
export async function waitStatus(
  page: Page,
  want: { transport?: string; phase?: string; reason?: string },
  where: KitLocation = 'test',
): Promise<KitStatus> {
  const handle = await page.waitForFunction(
    ([wanted, w]) => {
      const s = (
        w === 'demo' ? (window as unknown as { demo?: { status: KitStatus } }).demo?.status : window.kitStatus
      ) as Record<string, unknown> | undefined;
      return s && Object.entries(wanted).every(([k, v]) => s[k] === v) ? s : null;
    },
    [want, where] as const,
    { timeout: WAIT_GUARD_MS, polling: 50 },
  );
  return (await handle.jsonValue()) as unknown as KitStatus;
}

/** The page's state as plain JSON. */
export async function pageState(page: Page, where: KitLocation = 'test'): Promise<ClientState> {
  return page.evaluate((w) => {
    const s =
      w === 'demo' ? (window as unknown as { demo?: { state: ClientState } }).demo?.state : window.kitState;
    return JSON.parse(JSON.stringify(s ?? null));
  }, where);
}
