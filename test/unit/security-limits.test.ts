/**
 * The pure parts of the limits: the per-IP token bucket (bounded LRU), the client key (IPv6 /64),
 * and the token-expiry watch (one timer, buckets by second). Clocks are injected.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { readCookie } from '../../gateway/security/cookies.ts';
import { ExpiryWatch } from '../../gateway/security/expiry-watch.ts';
import { clientKey, RateLimiter } from '../../gateway/security/rate-limiter.ts';

describe('RateLimiter', () => {
  test('a full bucket allows `burst` at once, then refills at perSecond', () => {
    let t = 0;
    const rl = new RateLimiter({ perSecond: 2, burst: 3, maxClients: 10, now: () => t });
    assert.deepEqual([rl.take('a'), rl.take('a'), rl.take('a')], [0, 0, 0]);
    assert.equal(rl.take('a'), 500, 'one token comes back in 500 ms');
    t += 250;
    assert.equal(rl.take('a'), 250);
    t += 250;
    assert.equal(rl.take('a'), 0);
    assert.equal(rl.take('b'), 0, 'clients have buckets of their own');
    t += 60_000;
    assert.deepEqual(
      [rl.take('a'), rl.take('a'), rl.take('a'), rl.take('a') > 0],
      [0, 0, 0, true],
      'capped at burst',
    );
  });

  test('memory is bounded by maxClients, whatever the number of addresses', () => {
    const rl = new RateLimiter({ perSecond: 1, burst: 1, maxClients: 100, now: () => 0 });
    for (let i = 0; i < 10_000; i++) rl.take(`10.0.${i >> 8}.${i & 255}`);
    assert.equal(rl.size, 100);
  });

  test('property: over any schedule, a client never gets more than burst + perSecond x elapsed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 300 }),
        (perSecond, burst, gaps) => {
          let t = 0;
          const rl = new RateLimiter({ perSecond, burst, maxClients: 10, now: () => t });
          let allowed = 0;
          for (const g of gaps) {
            t += g;
            const wait = rl.take('x');
            if (wait === 0) allowed++;
            else if (wait < 0 || !Number.isFinite(wait)) return false;
          }
          return allowed <= burst + (perSecond * t) / 1000 + 1e-9;
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('clientKey', () => {
  test('IPv4 as is, IPv4-mapped IPv6 unwrapped, IPv6 grouped by /64', () => {
    assert.equal(clientKey('203.0.113.7'), '203.0.113.7');
    assert.equal(clientKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(clientKey('::1'), '0:0:0:0::/64');
    assert.equal(clientKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(clientKey('unknown'), 'unknown');
  });
});

describe('readCookie', () => {
  test('finds one cookie; absent, empty or repeated is undefined; never throws', () => {
    assert.equal(readCookie('a=1; switchyard_token=abc.def.ghi; b=2', 'switchyard_token'), 'abc.def.ghi');
    assert.equal(readCookie('switchyard_token="q"', 'switchyard_token'), 'q');
    assert.equal(readCookie('x_switchyard_token=1', 'switchyard_token'), undefined);
    assert.equal(readCookie('switchyard_token=', 'switchyard_token'), undefined);
    assert.equal(readCookie('switchyard_token=a; switchyard_token=b', 'switchyard_token'), undefined);
    assert.equal(readCookie('switchyard_token=%E0%A4%A', 'switchyard_token'), '%E0%A4%A');
    assert.equal(readCookie(undefined, 'switchyard_token'), undefined);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (h) => {
        const v = readCookie(h, 'switchyard_token');
        return v === undefined || typeof v === 'string';
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ExpiryWatch', () => {
  test('sweep expires exactly the items due, each once, in expiry order', () => {
    let t = 10_000;
    const expired: string[] = [];
    const w = new ExpiryWatch<string>(
      () => t,
      (x) => expired.push(x),
    );
    w.add('c', 13_000);
    w.add('a', 11_000);
    w.add('b', 12_000);
    w.add('a2', 11_000);
    assert.equal(w.size, 4);
    assert.equal(w.sweep(), 0);
    t = 11_000;
    assert.equal(w.sweep(), 2);
    assert.deepEqual(expired.sort(), ['a', 'a2']);
    t = 20_000;
    assert.equal(w.sweep(), 2);
    assert.deepEqual(expired.slice(2), ['b', 'c']);
    assert.equal(w.size, 0);
    assert.equal(w.sweep(), 0);
    w.close();
  });

  test('removed items never expire; size and timer follow what is watched', () => {
    let t = 0;
    const expired: string[] = [];
    const w = new ExpiryWatch<string>(
      () => t,
      (x) => expired.push(x),
    );
    const forgetA = w.add('a', 1000);
    const forgetB = w.add('b', 1000);
    forgetA();
    forgetA();
    assert.equal(w.size, 1);
    forgetB();
    assert.equal(w.size, 0);
    t = 5000;
    assert.equal(w.sweep(), 0);
    assert.deepEqual(expired, []);
  });

  test('churn on the same expiry second does not grow anything', () => {
    let t = 0;
    const w = new ExpiryWatch<object>(
      () => t,
      () => {},
    );
    const keep = w.add({}, 3_600_000);
    for (let i = 0; i < 10_000; i++) w.add({}, 3_600_000)();
    assert.equal(w.size, 1);
    assert.equal((w as unknown as { heap: number[] }).heap.length, 1);
    keep();
    t = 3_600_000;
    assert.equal(w.sweep(), 0);
  });

  test('property: whatever the adds, removes and sweeps, exactly the due, unremoved items expire', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('add' as const), at: fc.integer({ min: 0, max: 20_000 }) }),
            fc.record({ op: fc.constant('remove' as const), i: fc.nat() }),
            fc.record({ op: fc.constant('tick' as const), by: fc.integer({ min: 0, max: 3000 }) }),
          ),
          { maxLength: 200 },
        ),
        (ops) => {
          let t = 0;
          const expired = new Set<number>();
          const w = new ExpiryWatch<number>(
            () => t,
            (x) => {
              if (expired.has(x)) throw new Error('expired twice');
              expired.add(x);
            },
          );
          const items: Array<{ at: number; forget: () => void; removed: boolean }> = [];
          for (const op of ops) {
            if (op.op === 'add')
              items.push({ at: op.at, forget: w.add(items.length, op.at), removed: false });
            else if (op.op === 'remove' && items.length > 0) {
              const j = op.i % items.length;
              if (!expired.has(j)) items[j]!.removed = true;
              items[j]!.forget();
            } else if (op.op === 'tick') {
              t += op.by;
              w.sweep();
            }
          }
          w.sweep();
          w.close();
          // Due: its expiry second has started (an expiry rounds up to the next whole second).
          return items.every(
            (it, i) => expired.has(i) === (!it.removed && Math.ceil(it.at / 1000) * 1000 <= t),
          );
        },
      ),
      { numRuns: 2000 },
    );
  });
});
