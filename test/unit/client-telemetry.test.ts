/**
 * Latency telemetry, both ends: the intake `POST /v1/telemetry` (validation, size and batch
 * bounds, clipping, per-address budget, aggregation into the per-transport histogram) and the
 * kit's reporter (sampling, batching, bounded memory while reports fail).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import express from 'express';
import { LatencyReporter } from '../../compat/client/telemetry.ts';
import type { Timers } from '../../compat/client/timers.ts';
import { errorHandler } from '../../gateway/http/error-handler.ts';
import { SampleBudget } from '../../gateway/telemetry/budget.ts';
import { MAX_SAMPLES_PER_REPORT } from '../../gateway/telemetry/report.ts';
import { telemetryRouter } from '../../gateway/telemetry/telemetry-route.ts';
import { listen } from '../helpers/sse-client.ts';
import { startFixture } from './core-fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON read back from the wire
type Json = any;

async function post(url: string, body: string, type = 'application/json') {
  const res = await fetch(`${url}/v1/telemetry`, { method: 'POST', headers: { 'content-type': type }, body });
  return { status: res.status, json: (await res.json()) as Json };
}

async function histogram(
  url: string,
  transport: string,
): Promise<{ count: number; sum: number; inf: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (re: RegExp) => Number(re.exec(text)?.[1] ?? 0);
  return {
    count: read(new RegExp(`switchyard_client_latency_seconds_count\\{transport="${transport}"\\} (\\S+)`)),
    sum: read(new RegExp(`switchyard_client_latency_seconds_sum\\{transport="${transport}"\\} (\\S+)`)),
    inf: read(
      new RegExp(`switchyard_client_latency_seconds_bucket\\{le="0.005",transport="${transport}"\\} (\\S+)`),
    ),
  };
}

describe('POST /v1/telemetry', () => {
  test('aggregates samples per transport, clipping absurd values and counting them', async (t) => {
    const f = await startFixture(t);
    const ok = await post(
      f.url,
      JSON.stringify({ v: 1, transport: 'sse', latencyMs: [3, 4, 12], sampleRate: 0.5 }),
    );
    assert.equal(ok.status, 202);
    assert.deepEqual(ok.json, { accepted: 3, clipped: 0, dropped: 0 });
    const clipped = await post(
      f.url,
      // 1e999 is valid JSON that parses to Infinity.
      '{"transport":"poll","latencyMs":[5000,-250,1e12,1e999]}',
    );
    assert.equal(clipped.status, 400, '1e999 parses to Infinity: refused');
    const c2 = await post(
      f.url,
      JSON.stringify({ transport: 'poll', latencyMs: [5000, -250, 1e12], extra: 'ignored' }),
    );
    assert.deepEqual(c2.json, { accepted: 3, clipped: 2, dropped: 0 });

    const sse = await histogram(f.url, 'sse');
    assert.equal(sse.count, 3);
    assert.ok(Math.abs(sse.sum - 0.019) < 1e-9, `sum ${sse.sum}`);
    assert.equal(sse.inf, 2, 'two samples at or under 5 ms');
    const poll = await histogram(f.url, 'poll');
    assert.equal(poll.count, 3);
    assert.ok(poll.sum <= 5 + 600 + 1e-9, `a 1e12 ms sample counts as at most 10 min (sum ${poll.sum})`);
    const metrics = await (await fetch(`${f.url}/metrics`)).text();
    assert.match(metrics, /switchyard_telemetry_samples_total\{transport="poll",outcome="clipped"\} 2/);
    assert.match(metrics, /switchyard_telemetry_batches_total\{outcome="invalid"\} 1/);
  });

  test('refuses wrong types, oversized batches and bodies, and non-JSON', async (t) => {
    const f = await startFixture(t);
    const before = await histogram(f.url, 'sse');
    const bad: Array<[string, number, string]> = [
      [JSON.stringify({ transport: 'ws', latencyMs: [1] }), 400, 'BAD_BODY'],
      [JSON.stringify({ transport: 'sse', latencyMs: ['1'] }), 400, 'BAD_BODY'],
      [JSON.stringify({ transport: 'sse', latencyMs: [] }), 400, 'BAD_BODY'],
      [JSON.stringify({ transport: 'sse', latencyMs: 5 }), 400, 'BAD_BODY'],
      [JSON.stringify({ transport: 'sse', latencyMs: [null] }), 400, 'BAD_BODY'],
      [JSON.stringify({ transport: 'sse', latencyMs: [1], sampleRate: 7 }), 400, 'BAD_BODY'],
      [
        JSON.stringify({ transport: 'sse', latencyMs: new Array(MAX_SAMPLES_PER_REPORT + 1).fill(1) }),
        400,
        'BAD_BODY',
      ],
      [JSON.stringify({ transport: 'sse', latencyMs: new Array(5000).fill(123456) }), 413, 'BODY_TOO_LARGE'],
      ['{"transport":', 400, 'BAD_BODY'],
      ['[1,2,3]', 400, 'BAD_BODY'],
    ];
    for (const [body, status, code] of bad) {
      const r = await post(f.url, body);
      assert.equal(r.status, status, body.slice(0, 60));
      assert.equal(r.json.error.code, code, body.slice(0, 60));
    }
    const form = await post(f.url, 'transport=sse', 'application/x-www-form-urlencoded');
    assert.equal(form.status, 400);
    assert.deepEqual(await histogram(f.url, 'sse'), before, 'nothing refused reached the histogram');
    // navigator.sendBeacon posts text/plain: accepted.
    const beacon = await post(
      f.url,
      JSON.stringify({ transport: 'sse', latencyMs: [7] }),
      'text/plain;charset=UTF-8',
    );
    assert.equal(beacon.status, 202);
  });

  test('a per-address budget bounds how fast one client moves the histogram', async (t) => {
    const f = await startFixture(t);
    let now = 1_000_000;
    const budget = new SampleBudget({
      perKeyRate: 10,
      perKeyBurst: 20,
      globalRate: 1000,
      globalBurst: 1000,
      now: () => now,
    });
    const app = express();
    app.use(telemetryRouter(f.ctx, budget));
    app.use(errorHandler(f.ctx.logger));
    const server = await listen(app, t);
    const report = JSON.stringify({ transport: 'sse', latencyMs: new Array(15).fill(2) });
    assert.deepEqual((await post(server.url, report)).json, { accepted: 15, clipped: 0, dropped: 0 });
    assert.deepEqual((await post(server.url, report)).json, { accepted: 5, clipped: 0, dropped: 10 });
    const limited = await fetch(`${server.url}/v1/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: report,
    });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    now += 1000; // one second later: 10 more samples allowed
    assert.deepEqual((await post(server.url, report)).json, { accepted: 10, clipped: 0, dropped: 5 });
  });
});

describe('SampleBudget', () => {
  test('per key and global buckets, bounded key memory', () => {
    let now = 0;
    const b = new SampleBudget({
      perKeyRate: 1,
      perKeyBurst: 5,
      globalRate: 2,
      globalBurst: 8,
      maxKeys: 2,
      now: () => now,
    });
    assert.equal(b.take('a', 10), 5);
    assert.equal(b.take('b', 10), 3, 'the global bucket runs out first');
    assert.equal(b.take('c', 10), 0);
    now += 2000;
    assert.equal(b.take('b', 10), 4, 'b refilled at 1/s (2 left + 2), within the global refill (4)');
    const k = new SampleBudget({
      perKeyRate: 1,
      perKeyBurst: 5,
      globalRate: 1e6,
      globalBurst: 1e6,
      now: () => now,
    });
    assert.equal(k.take('x', 10), 5);
    now += 3000;
    assert.equal(k.take('x', 10), 3, 'per-key refill: 1 per second');
    now += 60_000;
    assert.equal(k.take('x', 10), 5, 'capped at the burst');
  });
});

describe('LatencyReporter (kit side)', () => {
  function fakeTimers() {
    const pending = new Map<number, () => void>();
    let next = 1;
    const timers: Timers = {
      set: (fn) => {
        pending.set(next, fn);
        return next++;
      },
      clear: (h) => pending.delete(h as number),
    };
    return {
      timers,
      fire: () => {
        for (const [k, fn] of [...pending.entries()]) {
          pending.delete(k);
          fn();
        }
      },
      pending,
    };
  }

  test('samples, batches by transport and flushes on the timer or a full batch', async () => {
    const sent: Json[] = [];
    const fetchStub = (async (_url: string, init: RequestInit) => {
      sent.push(JSON.parse(String(init.body)));
      return new Response(null, { status: 202 });
    }) as typeof fetch;
    const { timers, fire, pending } = fakeTimers();
    let r = 0;
    const random = () => (r++ % 2 === 0 ? 0.1 : 0.9); // every other sample kept at rate 0.5
    const rep = new LatencyReporter(
      { url: 'http://gw/v1/telemetry', fetch: fetchStub, timers, random, withCredentials: false },
      { sampleRate: 0.5, maxBatch: 3 },
    );
    for (const ms of [10, 11, 12, 13]) rep.record('sse', ms);
    rep.record('poll', 4000);
    assert.equal(sent.length, 0, 'nothing until a batch fills or the timer fires');
    assert.equal(pending.size, 1, 'one timer');
    for (const ms of [14, 15]) rep.record('sse', ms);
    assert.deepEqual(sent[0], { v: 1, transport: 'sse', latencyMs: [10, 12, 15], sampleRate: 0.5 });
    fire();
    assert.deepEqual(sent.slice(1), [{ v: 1, transport: 'poll', latencyMs: [4000], sampleRate: 0.5 }]);
  });

  test('while reports fail, memory stays bounded and drops are counted', async () => {
    let fail = true;
    const sent: Json[] = [];
    const fetchStub = (async (_url: string, init: RequestInit) => {
      if (fail) throw new Error('offline');
      sent.push(JSON.parse(String(init.body)));
      return new Response(null, { status: 202 });
    }) as typeof fetch;
    const { timers } = fakeTimers();
    const rep = new LatencyReporter(
      { url: 'http://gw/v1/telemetry', fetch: fetchStub, timers, random: () => 0, withCredentials: false },
      { sampleRate: 1, maxBatch: 2 },
    );
    for (let i = 0; i < 50; i++) {
      rep.record('sse', i);
      await new Promise((resolve) => setImmediate(resolve));
    }
    fail = false;
    rep.flush();
    await new Promise((resolve) => setImmediate(resolve));
    const kept = sent.flatMap((s) => s.latencyMs);
    assert.ok(kept.length <= 4, `at most two batches kept (${kept.length})`);
    const dropped = sent.reduce((n, s) => n + (s.dropped ?? 0), 0);
    assert.equal(kept.length + dropped, 50, 'every sample is either sent or counted as dropped');
  });
});
