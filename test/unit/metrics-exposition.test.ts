/**
 * GET /metrics, parsed: every documented metric is there with its type and label names, label
 * values come from closed sets or the configuration, and no request can add a series: unknown
 * streams, paths, event ids, ETags and headers leave the series count where it was.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { openSse } from '../helpers/sse-client.ts';
import { get, metricsFixture, ORDERS, parseExposition, type Sample, TOTALS } from './metrics-fixture.ts';

/** name -> [type, label names (sorted; `le` for histogram buckets is implied)] */
const EXPECTED: Record<string, [string, string[]]> = {
  switchyard_sse_connections: ['gauge', []],
  switchyard_pollers: ['gauge', []],
  switchyard_sse_connects_total: ['counter', ['kind']],
  switchyard_sse_disconnects_total: ['counter', ['reason']],
  switchyard_http_requests_total: ['counter', ['endpoint', 'status']],
  switchyard_http_response_bytes_total: ['counter', ['endpoint']],
  switchyard_records_applied_total: ['counter', ['stream']],
  switchyard_records_rejected_total: ['counter', ['reason', 'stream']],
  switchyard_sse_conflated_events_total: ['counter', []],
  switchyard_sse_slow_disconnects_total: ['counter', []],
  switchyard_ingest_latency_seconds: ['histogram', ['stream']],
  switchyard_delivery_latency_seconds: ['histogram', ['transport']],
  switchyard_client_latency_seconds: ['histogram', ['transport']],
  switchyard_source_connected: ['gauge', []],
  switchyard_source_staleness_seconds: ['gauge', []],
  switchyard_consumer_lag_records: ['gauge', ['stream']],
  switchyard_ready: ['gauge', []],
};

const ENDPOINTS = [
  'snapshot',
  'stream',
  'legacy',
  'telemetry',
  'transport',
  'admin',
  'stats',
  'compare',
  'metrics',
  'health',
  'other',
];
const CLOSED: Record<string, (v: string) => boolean> = {
  endpoint: (v) => ENDPOINTS.includes(v),
  status: (v) => /^\d{1,3}$/.test(v),
  transport: (v) => v === 'sse' || v === 'poll',
  stream: (v) => v === 'orders' || v === 'totals',
  kind: (v) => ['fresh', 'replay', 'resync'].includes(v),
};

const family = (name: string): string => name.replace(/_(bucket|sum|count)$/, '');
const seriesKey = (s: Sample): string =>
  `${s.name}{${Object.entries(s.labels)
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(',')}}`;

test('/metrics: names, types, labels; no client-supplied label value', async (t) => {
  const f = await metricsFixture(t);
  const now = f.clock.now;
  f.source.produce(ORDERS, [{ key: 'a', value: '{"lat":1,"lon":2}', timestamp: now - 10 }]);
  f.source.produce(TOTALS, [{ key: 'US', value: 'not json', timestamp: now }]);
  await f.applied(1);
  const sse = await openSse(`${f.url}/v1/stream`, { t });
  await sse.nextEvent();
  f.source.produce(ORDERS, [{ key: 'b', value: '{"lat":1,"lon":2}', timestamp: now }]);
  await sse.nextEvent();
  const etag = (await get(`${f.url}/v1/snapshot`)).headers.etag!;
  f.source.produce(ORDERS, [{ key: 'c', value: '{"lat":1,"lon":2}', timestamp: now }]);
  await f.applied(3);
  await get(`${f.url}/v1/snapshot`, { 'if-none-match': etag });
  f.ctx.metrics.clientLatency.observe({ transport: 'sse' }, 0.004);

  const scrape = async () => {
    const res = await get(`${f.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return parseExposition(res.text);
  };
  const m = await scrape();
  for (const [name, [type, labels]] of Object.entries(EXPECTED)) {
    assert.equal(m.types.get(name), type, `${name} has TYPE ${type}`);
    assert.ok((m.help.get(name) ?? '').length > 10, `${name} has HELP`);
    const samples = m.samples.filter((s) => family(s.name) === name);
    // Labelled counters appear with their first increment: no stream has ended in this test.
    if (name !== 'switchyard_sse_disconnects_total') assert.ok(samples.length > 0, `${name} has samples`);
    for (const s of samples) {
      const names = Object.keys(s.labels)
        .filter((l) => !(l === 'le' && s.name.endsWith('_bucket')))
        .sort();
      assert.deepEqual(names, labels, `${seriesKey(s)}: label names`);
    }
  }
  for (const s of m.samples.filter((x) => x.name.startsWith('switchyard_')))
    for (const [label, value] of Object.entries(s.labels))
      if (CLOSED[label])
        assert.ok(CLOSED[label](value), `${seriesKey(s)}: ${label}="${value}" is not allowed`);
  // Buckets tell 5 ms from 50 ms and 1 s from 10 s.
  const les = new Set(
    m.samples.filter((s) => s.name === 'switchyard_delivery_latency_seconds_bucket').map((s) => s.labels.le),
  );
  for (const le of ['0.005', '0.05', '1', '10']) assert.ok(les.has(le), `bucket le=${le}`);
  const requests = (endpoint: string, status: string) =>
    m.samples.find(
      (s) =>
        s.name === 'switchyard_http_requests_total' &&
        s.labels.endpoint === endpoint &&
        s.labels.status === status,
    )?.value;
  assert.equal(requests('snapshot', '200'), 2);
  assert.equal(
    m.samples.find((s) => s.name === 'switchyard_records_rejected_total' && s.labels.stream === 'totals')
      ?.value,
    1,
  );

  // Hostile input, once to create the series bad requests legitimately have (404, 400...), then
  // again with fresh random values: the set of series must not change.
  const junk = async (token: string) => {
    await get(`${f.url}/${token}/x?${token}=1`, { 'user-agent': token, 'x-client-id': token });
    await get(`${f.url}/v1/snapshot?streams=${token}`);
    await get(`${f.url}/v1/snapshot?streams=orders,${token}`);
    await get(`${f.url}/v1/snapshot`, { 'if-none-match': `W/"${token}"` });
    await get(`${f.url}/v1/stream?streams=${token}`, { accept: 'text/event-stream' });
    // A plain HTTP client: an EventSource (Accept: text/event-stream) with a malformed id gets a
    // resync stream that stays open (docs/errors.md), not a 400 that ends.
    await get(`${f.url}/v1/stream`, { 'last-event-id': token });
    await get(`${f.url}/compare/assets/${token}.js`);
    await get(`${f.url}/v1/stats/latency?${token}=${token}`);
    await get(`${f.url}/metrics?${token}`);
  };
  await junk(`warm${randomBytes(4).toString('hex')}`);
  const before = new Set((await scrape()).samples.map(seriesKey));
  const tokens = Array.from({ length: 5 }, () => `z${randomBytes(6).toString('hex')}`);
  for (const token of tokens) await junk(token);
  const afterScrape = await scrape();
  const after = new Set(afterScrape.samples.map(seriesKey));
  assert.deepEqual(
    [...after].filter((k) => !before.has(k)),
    [],
    'no new series',
  );
  assert.equal(after.size, before.size);
  const text = (await get(`${f.url}/metrics`)).text;
  for (const token of tokens) assert.ok(!text.includes(token), `"${token}" appears in /metrics`);
});
