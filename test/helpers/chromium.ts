/**
 * Real Chromium (Debian's /usr/bin/chromium through playwright-core) with a fresh profile folder,
 * for the browser tests; closed and its profile removed on `t.after`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import type { Teardown } from './sse-client.ts';

/** Headless, no sandbox (root in CI), and none of the browser's own background traffic. */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface ChromiumOptions {
  /** Command-line flags; default {@link CHROMIUM_ARGS}. */
  args?: readonly string[];
  /** The pages' viewport; default: playwright's (1280x720). */
  viewport?: { width: number; height: number };
  /** Prefix of the profile folder's name in the temp folder; default `switchyard-chromium-`. */
  profilePrefix?: string;
}

/** Launches Chromium with a persistent context in a fresh profile; torn down on `t.after`. */
export async function launchChromium(t: Teardown, opts: ChromiumOptions = {}): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), opts.profilePrefix ?? 'switchyard-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...(opts.args ?? CHROMIUM_ARGS)],
    ...(opts.viewport ? { viewport: opts.viewport } : {}),
  });
  t.after(async () => {
    await browser.close();
    rmSync(profile, { recursive: true, force: true });
  });
  return browser;
}
