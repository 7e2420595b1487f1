/**
 * The comparison command's pure parts: options, percentiles, delivered vs expected, and the
 * table it prints.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type CompareResult, Deliveries, formatTable, summarise } from '../../bench/compare/report.ts';
import { parseDuration, parseOptions, UsageError } from '../../bench/compare.ts';

test('options: defaults, durations, and clear errors', () => {
  const o = parseOptions(['--url', 'http://127.0.0.1:8080']);
  assert.ok(o !== 'help');
  assert.equal(o.clients, 10);
  assert.equal(o.durationMs, 60_000);
  assert.equal(o.streams, null);
  assert.equal(o.json, false);
  assert.equal(o.intervalMs, null);
  const p = parseOptions([
    '--url=https://gw.example',
    '--clients',
    '3',
    '--duration',
    '25s',
    '--streams',
    'orders',
    '--json',
  ]);
  assert.ok(p !== 'help');
  assert.deepEqual([p.clients, p.durationMs, p.streams, p.json], [3, 25_000, 'orders', true]);
  assert.equal(parseOptions(['--help']), 'help');
  assert.equal(parseDuration('2m'), 120_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('90'), 90_000);
  assert.throws(() => parseDuration('soon'), UsageError);
  assert.throws(() => parseOptions([]), /--url is required/);
  assert.throws(() => parseOptions(['--url', 'ftp://x']), /http/);
  assert.throws(() => parseOptions(['--url', 'http://x', '--clients', '0']), /--clients/);
  assert.throws(() => parseOptions(['--url', 'http://x', '--streams', 'a b']), /--streams/);
  assert.throws(() => parseOptions(['--url', 'http://x', '--bogus']));
});

test('summarise: nearest-rank percentiles of raw samples', () => {
  const s = summarise(Array.from({ length: 100 }, (_, i) => 100 - i));
  assert.deepEqual(
    [s.deliveries, s.p50Ms, s.p95Ms, s.p99Ms, s.maxMs, s.meanMs],
    [100, 50, 95, 99, 100, 50.5],
  );
  assert.equal(summarise([]).p50Ms, null);
});

test('coverage: updates in the window, deliveries capped at one per client', () => {
  const d = new Deliveries();
  for (const client of [1, 2]) {
    d.record('sse', 'orders', 'a', 1000, 1001);
    d.record('sse', 'orders', 'b', 2000, 2001);
    d.record('sse', 'orders', 'late', 9000, 9001);
    if (client === 1) d.record('poll', 'orders', 'a', 1000, 5000);
  }
  d.record('sse', 'orders', 'a', 1000, 1001); // a duplicate delivery is not a second one
  const c = d.coverage(500, 5000, { poll: 2, sse: 2 });
  assert.deepEqual(c, { updates: 2, delivered: { poll: 1, sse: 4 }, expected: { poll: 4, sse: 4 } });
});

test('formatTable: percentiles, coverage and the ratio per transport', () => {
  const t = (p50: number, delivered: number) => ({
    deliveries: 10,
    p50Ms: p50,
    p95Ms: p50 * 2,
    p99Ms: p50 * 3,
    maxMs: p50 * 4,
    meanMs: p50,
    clients: 2,
    delivered,
    expected: 40,
    bytes: 2048,
    errors: 0,
    reconnects: 0,
  });
  const r: CompareResult = {
    url: 'http://gw:8080',
    streams: 'orders',
    clients: 2,
    durationMs: 60_000,
    pollIntervalMs: 10_000,
    clockOffsetMs: 0,
    window: { fromMs: 10_500, toMs: 49_000, updates: 20 },
    transports: { poll: t(5000, 30), sse: t(2.5, 40) },
    ratio: { p50: 2000, p95: 2000, p99: 2000, max: 2000 },
  };
  const text = formatTable(r);
  assert.match(text, /Polling \(2\)\s+5\.00 s\s+10\.00 s\s+15\.00 s\s+20\.00 s\s+30 \/ 40 \(75\.0%\)/);
  assert.match(text, /SSE \(2\)\s+2\.5 ms\s+5\.0 ms\s+7\.5 ms\s+10 ms\s+40 \/ 40 \(100\.0%\)/);
  assert.match(text, /Polling \/ SSE\s+2,000x/);
});
