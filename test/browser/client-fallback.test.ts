/**
 * A page behind a buffering proxy (a small proxy in this test that holds a response's bytes
 * until it ends, which an event stream never does): the kit, told to stream, gets no snapshot,
 * falls back to polling through the same proxy, and its state keeps up with the gateway.
 * Real Chromium, gateway on the real broker (`npm test`).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startProxy } from '../helpers/client-proxy.ts';
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

test('a stream held by a buffering proxy makes the kit fall back to polling', {
  timeout: 120_000,
}, async (t) => {
  const { gw, browser } = await startKitBrowser(t, { percent: 100 });
  const proxy = await startProxy(gw.url, (path) => (path.startsWith('/v1/stream') ? 'buffer' : 'pass'), t);
  // The page itself comes through the proxy: one origin, as behind a real corporate proxy.
  const page = await openKitPage(browser, proxy.url, { clientId: 'behind-proxy', snapshotTimeoutMs: 1500 });

  // It was told to stream and tried...
  await page.waitForFunction(() => window.kitStatuses.some((s) => s.transport === 'sse'), undefined, {
    polling: 50,
  });
  // ...nothing came through, so it polls.
  const status = await waitStatus(page, { transport: 'poll', phase: 'live' });
  assert.equal(status.reason, 'fallback:no_snapshot');
  assert.ok(
    proxy.log.some((r) => r.path.startsWith('/v1/stream')),
    'the stream went through the proxy',
  );

  await gw.burst(100, 'held');
  const want = await gw.settled();
  await waitPosition(page, want.position!);
  assert.deepStrictEqual(await pageState(page), want);
  assert.deepEqual(pageErrors(page), []);
});
