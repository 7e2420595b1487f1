/**
 * Seven tabs of one origin on plain HTTP/1.1, where Chromium allows six connections per host:
 * the kits share one stream (a Web Lock elects the leader tab, a BroadcastChannel relays its
 * updates), so every tab receives every update and the gateway sees a single stream. When the
 * leader tab closes, another tab takes over and the rest keep receiving.
 * Real Chromium, gateway on the real broker (`npm test`).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Page } from 'playwright-core';
import { closeKafkaHelpers } from '../helpers/kafka.ts';
import {
  openKitPage,
  pageErrors,
  pageState,
  startKitBrowser,
  waitPosition,
  waitStatus,
} from './client-harness.ts';

after(closeKafkaHelpers);

test('seven tabs on HTTP/1.1 all receive updates over one shared stream', { timeout: 180_000 }, async (t) => {
  const { gw, browser } = await startKitBrowser(t, { percent: 100 });
  const tabs: Page[] = [];
  for (let i = 0; i < 7; i++) tabs.push(await openKitPage(browser, gw.url, { clientId: `tab-user` }));
  for (const tab of tabs) await waitStatus(tab, { transport: 'sse', phase: 'live' });

  await gw.burst(50, 'first');
  let want = await gw.settled();
  for (const tab of tabs) await waitPosition(tab, want.position!);
  for (const tab of tabs) assert.deepStrictEqual(await pageState(tab), want);
  const leaders = await Promise.all(tabs.map((tab) => tab.evaluate(() => window.kitStatus?.leader)));
  assert.equal(leaders.filter(Boolean).length, 1, `one leader: ${leaders.join(',')}`);
  assert.equal(gw.ctx.hub.size, 1, 'one stream for seven tabs');

  // The leader tab goes away: another one takes over, resuming from the state it mirrored.
  const leader = tabs[leaders.indexOf(true)]!;
  await leader.close();
  const rest = tabs.filter((tab) => tab !== leader);
  await gw.burst(50, 'second');
  want = await gw.settled();
  for (const tab of rest) await waitPosition(tab, want.position!);
  for (const tab of rest) assert.deepStrictEqual(await pageState(tab), want);
  const after = await Promise.all(rest.map((tab) => tab.evaluate(() => window.kitStatus?.leader)));
  assert.equal(after.filter(Boolean).length, 1, 'a new leader');
  for (const tab of rest) assert.deepEqual(pageErrors(tab), []);
});

test('tabs with different client ids do not share a transport decision', { timeout: 120_000 }, async (t) => {
  const { gw, browser } = await startKitBrowser(t, { percent: 0, allow: ['tab-vip'] });
  const vip = await openKitPage(browser, gw.url, { clientId: 'tab-vip' });
  const other = await openKitPage(browser, gw.url, { clientId: 'tab-other' });
  await waitStatus(vip, { transport: 'sse', phase: 'live' });
  await waitStatus(other, { transport: 'poll' });
  const leaders = await Promise.all([vip, other].map((tab) => tab.evaluate(() => window.kitStatus?.leader)));
  assert.deepEqual(leaders, [true, true], 'each id runs its own connection');
  for (const tab of [vip, other]) assert.deepEqual(pageErrors(tab), []);
});
