/**
 * Clock-offset estimation, backoff and Retry-After parsing of the client kit: pure functions
 * with injected time and randomness.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoff, retryAfterMs, spread } from '../../compat/client/backoff.ts';
import { ClockOffset } from '../../compat/client/clock.ts';

describe('ClockOffset', () => {
  test('is 0 before any observation', () => {
    assert.equal(new ClockOffset().offset(0), 0);
  });

  test('brackets the offset between request/response bounds (server 5 s ahead)', () => {
    const c = new ClockOffset();
    // Request sent at local 1000, answered at 1100; the server stamped 6040 (5 s ahead, 40 ms in).
    c.observeResponse(1000, 1100, 6040);
    const est = c.offset(1100);
    assert.ok(est >= 4940 && est <= 5040, `${est} within [S - C1, S - C0]`);
    assert.equal(est, 4990, 'the middle of the interval');
    // A tighter exchange narrows it.
    c.observeResponse(2000, 2010, 7005);
    assert.equal(c.offset(2010), 5000);
  });

  test('events give lower bounds; with updates flowing the estimate follows them', () => {
    const c = new ClockOffset();
    c.observeResponse(0, 200, -3000 + 100); // server 3 s behind, RTT 200 ms
    c.observeEvent(1000, -3000 + 1000 - 2); // an update applied 2 ms before it arrived
    const est = c.offset(1000);
    assert.ok(est >= -3002 && est <= -2900, `${est}`);
  });

  test('a clock jump is detected and old bounds are dropped', () => {
    const c = new ClockOffset();
    c.observeResponse(0, 10, 5);
    assert.equal(c.offset(10), 0);
    // The local clock jumped back by 60 s: the server now looks 60 s ahead.
    c.observeResponse(20, 30, 60_025);
    assert.equal(c.offset(30), 60_000);
  });

  test('bounds expire after ten minutes', () => {
    const c = new ClockOffset();
    c.observeResponse(0, 10, 1005);
    assert.equal(c.offset(10), 1000);
    assert.equal(c.offset(11 * 60_000), 0);
  });
});

describe('backoff', () => {
  test('grows exponentially, stays within [base/2, cap], and spreads with jitter', () => {
    assert.equal(
      backoff(0, 1000, 30_000, () => 0),
      500,
    );
    assert.equal(
      backoff(0, 1000, 30_000, () => 1),
      1000,
    );
    assert.equal(
      backoff(3, 1000, 30_000, () => 1),
      8000,
    );
    assert.equal(
      backoff(20, 1000, 30_000, () => 1),
      30_000,
    );
    assert.equal(
      backoff(20, 1000, 30_000, () => 0),
      500,
    );
    const values = new Set(Array.from({ length: 50 }, (_, i) => backoff(4, 1000, 30_000, () => i / 50)));
    assert.ok(values.size > 40, 'jitter spreads the delays');
    assert.equal(
      spread(1000, () => 0),
      800,
    );
    assert.equal(
      spread(1000, () => 0.999),
      1200,
    );
  });

  test('Retry-After: seconds or an HTTP date, bounded, else null', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(retryAfterMs('3', now), 3000);
    assert.equal(retryAfterMs('Tue, 01 Jan 2030 00:00:10 GMT', now), 10_000);
    assert.equal(retryAfterMs('Mon, 31 Dec 2029 00:00:00 GMT', now), 0);
    assert.equal(retryAfterMs('999999', now), 3_600_000);
    for (const bad of [null, '', 'soon', '-1', '1.5'])
      assert.equal(retryAfterMs(bad, now), null, String(bad));
  });
});
