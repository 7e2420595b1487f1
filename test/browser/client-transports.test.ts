/**
 * The client kit in real Chromium against a gateway on the real broker:
 * - one page streaming and one page polling end with deep-equal state after a burst of updates;
 * - the demo page (the old polling page changed in a few lines to use the kit) is moved by the
 *   rollout from SSE to polling (lowering it to 0 %) and back, live, without a reload.
 * Needs KAFKA_BROKERS (`npm test`).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { closeKafkaHelpers } from '../helpers/kafka.ts';
import {
  openKitPage,
  pageErrors,
  pageState,
  startKitBrowser,
  waitPosition,
  waitStatus,
} from './client-harness.ts';

describe('client kit in Chromium', { timeout: 180_000 }, () => {
  after(closeKafkaHelpers);

  test('a streaming page and a polling page end with deep-equal state after a burst', async (t) => {
    const { gw, browser } = await startKitBrowser(t, { percent: 0, allow: ['page-sse'] });
    // Two pages of one browser would share one connection: here each must run its own.
    const sse = await openKitPage(browser, gw.url, { clientId: 'page-sse', shareTabs: false });
    const poll = await openKitPage(browser, gw.url, { clientId: 'page-poll', shareTabs: false });
    const s1 = await waitStatus(sse, { transport: 'sse', phase: 'live' });
    const s2 = await waitStatus(poll, { transport: 'poll', phase: 'live' });
    assert.equal(s1.reason, 'allow_list');
    assert.equal(s2.reason, 'rollout');

    await gw.burst(300, 'burst');
    const want = await gw.settled();
    await waitPosition(sse, want.position!);
    await waitPosition(poll, want.position!);
    const [a, b] = [await pageState(sse), await pageState(poll)];
    assert.deepStrictEqual(a, b);
    assert.deepStrictEqual(a, want);
    assert.equal(Object.keys((want.streams.totals as { entries: object }).entries).length, 20);
    assert.deepEqual([...pageErrors(sse), ...pageErrors(poll)], []);
  });

  test('the demo page moves between transports with the rollout, without a reload', async (t) => {
    const { gw, browser } = await startKitBrowser(t, { percent: 100, recheckAfterMs: 1000 });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // Script errors only: network noise (a stream cut at teardown) is not the page's fault.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
    });
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    await page.goto(`${gw.url}/demo/kit.html?clientId=demo-user`);
    const navigated = navigations;
    await waitStatus(page, { transport: 'sse', phase: 'live' }, 'demo');
    await gw.burst(20, 'one');
    await waitPosition(page, (await gw.settled()).position!, 'demo');
    await page.evaluate(() => {
      (window as unknown as { marker: number }).marker = 42;
    });

    await gw.setRules({ percent: 0, recheckAfterMs: 1000 });
    const polled = await waitStatus(page, { transport: 'poll' }, 'demo');
    assert.equal(polled.reason, 'control:rollout');
    await gw.burst(20, 'two');
    const want = await gw.settled();
    await waitPosition(page, want.position!, 'demo');
    assert.deepStrictEqual(await pageState(page, 'demo'), want);
    assert.match((await page.textContent('#status')) ?? '', /^poll \(/);
    assert.ok(
      ((await page.locator('#totals tbody tr').count()) as number) > 0,
      'the page rendered the totals',
    );

    await gw.setRules({ percent: 100, recheckAfterMs: 1000 });
    await waitStatus(page, { transport: 'sse', phase: 'live', reason: 'rollout' }, 'demo');
    await gw.burst(20, 'three');
    await waitPosition(page, (await gw.settled()).position!, 'demo');

    assert.equal(
      await page.evaluate(() => (window as unknown as { marker?: number }).marker),
      42,
      'same page',
    );
    assert.equal(navigations, navigated, 'no navigation happened');
    assert.deepEqual(errors, []);
  });
});
