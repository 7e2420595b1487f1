/**
 * The pure parts of scale-out and overload handling: stream caps (global and per address), the
 * event-loop lag monitor (with a really blocked loop), and the stall detector of the Kafka source.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoopLagMonitor } from '../../gateway/overload/loop-lag.ts';
import { StreamCaps } from '../../gateway/overload/stream-caps.ts';
import { StallDetector } from '../../gateway/source/stall-detector.ts';

function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: the event loop cannot run anything
  }
}

describe('StreamCaps', () => {
  test('refuses past the global cap, then admits again after a release', () => {
    const caps = new StreamCaps(2, 0);
    assert.equal(caps.tryAcquire('a'), 'ok');
    assert.equal(caps.tryAcquire('b'), 'ok');
    assert.equal(caps.tryAcquire('c'), 'total');
    assert.equal(caps.total, 2);
    caps.release('a');
    assert.equal(caps.tryAcquire('c'), 'ok');
  });

  test('refuses past the per-address cap without touching other addresses', () => {
    const caps = new StreamCaps(100, 2);
    assert.equal(caps.tryAcquire('10.0.0.1'), 'ok');
    assert.equal(caps.tryAcquire('10.0.0.1'), 'ok');
    assert.equal(caps.tryAcquire('10.0.0.1'), 'per_ip');
    assert.equal(caps.tryAcquire('10.0.0.2'), 'ok');
    assert.equal(caps.total, 3, 'a refusal counts nothing');
  });

  test('forgets an address when its last stream closes (no growth under churn)', () => {
    const caps = new StreamCaps(10, 3);
    for (let i = 0; i < 10_000; i++) {
      const ip = `10.0.${i % 250}.${i % 7}`;
      assert.equal(caps.tryAcquire(ip), 'ok');
      caps.release(ip);
    }
    assert.equal(caps.total, 0);
    assert.equal(caps.addresses, 0);
    caps.release('never-seen');
    assert.equal(caps.total, 0, 'releasing an unknown address is a no-op');
  });
});

describe('LoopLagMonitor', () => {
  test('sheds only after two windows of lag above the threshold, and recovers', async () => {
    const m = new LoopLagMonitor({ thresholdMs: 50, windowMs: 100 });
    m.start();
    try {
      blockFor(250);
      await sleep(1); // the (late) window closes
      assert.ok(m.lagMs >= 100, `lag measured: ${m.lagMs}`);
      assert.equal(m.overloaded, false, 'one slow window is tolerated');
      blockFor(250);
      await sleep(1);
      assert.equal(m.overloaded, true, `two slow windows shed (lag ${m.lagMs})`);
      // Calm windows later it takes work again (checked each window, with a guard).
      const deadline = Date.now() + 5000;
      while (m.overloaded && Date.now() < deadline) await sleep(100);
      assert.equal(m.overloaded, false, `recovered (lag ${m.lagMs})`);
    } finally {
      m.stop();
    }
  });

  test('threshold 0 never sheds but still measures', async () => {
    const m = new LoopLagMonitor({ thresholdMs: 0, windowMs: 50 });
    m.start();
    try {
      blockFor(150);
      await sleep(1);
      blockFor(150);
      await sleep(1);
      assert.ok(m.lagMs > 0);
      assert.equal(m.overloaded, false);
    } finally {
      m.stop();
    }
  });
});

describe('StallDetector', () => {
  test('a partition that lags without moving is stuck from the first such observation', () => {
    const d = new StallDetector();
    d.observe('t/0', 10, 10, 1000); // first sight: caught up
    d.observe('t/0', 15, 10, 2000); // lags, has not moved since: stuck from now
    assert.equal(d.stuckSince(), 2000);
    d.observe('t/0', 20, 10, 7000);
    assert.deepEqual(d.stalled(7000, 5000), ['t/0']);
    assert.deepEqual(d.stalled(6999, 5000), []);
  });

  test('progress or catching up clears it; a lag that moves is not stuck', () => {
    const d = new StallDetector();
    d.observe('t/0', 10, 5, 0);
    d.observe('t/0', 12, 5, 1000);
    assert.equal(d.stuckSince(), 1000);
    d.observe('t/0', 14, 8, 2000); // moved
    assert.equal(d.stuckSince(), null);
    d.observe('t/0', 20, 12, 3000); // lagging but moving
    assert.equal(d.stuckSince(), null);
    d.observe('t/0', 20, 12, 4000); // stopped
    d.observe('t/0', 20, 20, 5000); // caught up
    assert.equal(d.stuckSince(), null);
  });

  test('the earliest stuck partition sets the freshness bound', () => {
    const d = new StallDetector();
    for (const k of ['a/0', 'a/1', 'b/0']) d.observe(k, 5, 5, 0);
    d.observe('a/1', 9, 5, 3000);
    d.observe('b/0', 9, 5, 1000);
    d.observe('a/0', 5, 5, 3000);
    assert.equal(d.stuckSince(), 1000);
    assert.deepEqual(d.stalled(4000, 2500).sort(), ['b/0']);
  });
});
