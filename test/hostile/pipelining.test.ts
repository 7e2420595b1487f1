/**
 * HTTP/1.1 pipelining (issue 16, items 1 and 2): several requests queued on one socket before
 * any answer. A stream's lifetime is its socket's, whatever the request order; a request
 * pipelined behind an open stream closes the connection (it could never be answered); the
 * requests one connection may queue are bounded; `/metrics` is rendered once per interval and
 * the bytes shared.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewayProcess } from '../helpers/gateway-process.ts';
import {
  assertHeapBack,
  assertStreamsBackTo,
  HealthProber,
  heap,
  NoiseControl,
  RawClient,
  rawRequest,
  type StreamGauges,
  startTarget,
  streamGauges,
} from './harness.ts';

const CAPS = { MAX_STREAMS: '60', MAX_STREAMS_PER_IP: '10', RATE_LIMIT_PER_SECOND: '50' };
const STREAM = rawRequest('GET', '/v1/stream', { Accept: 'text/event-stream' });

describe('hostile: pipelining', { timeout: 120_000 }, () => {
  let gw: GatewayProcess;
  let control: NoiseControl;
  let baseline: StreamGauges;
  before(async () => {
    control = await NoiseControl.start();
    gw = await startTarget(CAPS);
    baseline = await streamGauges(gw);
    assert.deepEqual(baseline, { healthzStreams: 0, sseConnections: 0, clientAddresses: 0 });
  });
  after(async () => {
    control?.stop();
    await gw?.stop();
  });

  test('pipelined streams leave no phantom: gauges and caps return to baseline when the sockets go', async () => {
    const thirty = Buffer.concat(Array.from({ length: 30 }, () => STREAM));
    const heap0 = await heap(gw);
    const probe = await HealthProber.start(gw, control);
    // 20 connections from one address, 30 pipelined stream requests each, then gone.
    const clients: RawClient[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await RawClient.open(gw.port, '127.0.0.2');
      c.write(thirty);
      clients.push(c);
    }
    // Each connection is answered (a stream, a refusal or a close) before it is dropped.
    for (const c of clients) await c.waitFor((t) => t.includes('HTTP/1.1 '), 5000, 'a first answer');
    for (const c of clients) c.destroy();
    await assertStreamsBackTo(gw, baseline);
    // The per-address cap is free again: an honest client at that address gets its 10 streams.
    const honest: RawClient[] = [];
    for (let i = 0; i < 10; i++) {
      const c = await RawClient.open(gw.port, '127.0.0.2');
      c.write(STREAM);
      await c.waitFor((t) => t.includes('event: snapshot'), 5000, 'a snapshot');
      assert.deepEqual(c.statuses(), [200]);
      honest.push(c);
    }
    assert.equal((await streamGauges(gw)).sseConnections, 10);
    for (const c of honest) c.destroy();
    await assertStreamsBackTo(gw, baseline);
    await probe.stopAndAssert('pipelined streams');
    await assertHeapBack(gw, heap0, 'pipelined streams');
  });

  test('a request pipelined behind an open stream closes the connection (stream included)', async () => {
    for (const behind of [
      rawRequest('GET', '/healthz'),
      rawRequest('GET', '/metrics'),
      STREAM,
      rawRequest('GET', '/v1/snapshot'),
    ]) {
      const c = await RawClient.open(gw.port);
      c.write(Buffer.concat([STREAM, behind]));
      await c.waitClosed(3000);
      const statuses = c.statuses();
      assert.ok(
        statuses.length <= 1 && (statuses[0] ?? 200) === 200,
        `only the stream answered: ${statuses}`,
      );
      await assertStreamsBackTo(gw, baseline);
    }
    // The same request sent after the stream has ended (sequentially) is answered as usual.
    const c = await RawClient.open(gw.port);
    c.write(rawRequest('GET', '/v1/snapshot'));
    c.write(rawRequest('GET', '/healthz'));
    await c.waitFor((t) => t.split('HTTP/1.1 200').length === 3, 3000, 'two answers');
    c.destroy();
  });

  test('a stream queued behind a poll ends with its socket', async () => {
    const c = await RawClient.open(gw.port);
    // A poll then a stream: the stream's response waits for the poll's; the client leaves.
    c.write(Buffer.concat([rawRequest('GET', '/v1/snapshot'), STREAM]));
    await c.waitFor((t) => t.includes('event: snapshot'), 5000, 'the queued stream');
    assert.equal((await streamGauges(gw)).healthzStreams, 1);
    // /metrics may be one shared render old (RENDER_INTERVAL_MS): wait for the next one.
    const deadline = Date.now() + 2000;
    while ((await streamGauges(gw)).sseConnections !== 1 && Date.now() < deadline) await sleep(50);
    assert.equal((await streamGauges(gw)).sseConnections, 1);
    c.destroy();
    await assertStreamsBackTo(gw, baseline);
  });

  test('the requests one connection may queue are bounded: past the bound the connection is closed', async () => {
    const queue = Buffer.concat(Array.from({ length: 5000 }, () => rawRequest('GET', '/v1/stats/latency')));
    const heap0 = await heap(gw);
    const probe = await HealthProber.start(gw, control);
    const c = await RawClient.open(gw.port);
    // A client that queues thousands of requests and reads nothing.
    c.socket.pause();
    c.write(queue);
    await c.waitClosed(5000);
    await probe.stopAndAssert('queued requests');
    await assertHeapBack(gw, heap0, 'queued requests');
  });

  test('pipelined /metrics: rendered once per interval, every scrape gets the same bytes, /healthz answers', async () => {
    const scrapes = Buffer.concat(Array.from({ length: 2000 }, () => rawRequest('GET', '/metrics')));
    const heap0 = await heap(gw);
    const probe = await HealthProber.start(gw, control);
    // 40 connections, each with the most pipelined scrapes a connection may queue, none read.
    const flood: RawClient[] = [];
    for (let i = 0; i < 40; i++) {
      const c = await RawClient.open(gw.port, '127.0.0.4');
      c.socket.pause();
      c.write(scrapes);
      flood.push(c);
    }
    // Meanwhile a scraper that reads: 8 pipelined scrapes, answered with one body.
    const scraper = await RawClient.open(gw.port, '127.0.0.5');
    scraper.write(Buffer.concat(Array.from({ length: 8 }, () => rawRequest('GET', '/metrics'))));
    const text = await scraper.waitFor((t) => t.split('HTTP/1.1 200').length === 9, 5000, 'eight scrapes');
    const bodies = text
      .split('HTTP/1.1 200')
      .slice(1)
      .map((r) => r.slice(r.indexOf('\r\n\r\n') + 4));
    assert.ok(bodies[0]!.includes('switchyard_sse_connections'), 'a metrics body');
    // One render per interval: pipelined scrapes in the same interval get identical bodies.
    assert.equal(new Set(bodies.map((b) => b.replace(/\r\n0\r\n\r\n$/, ''))).size, 1, 'the same bytes');
    scraper.destroy();
    for (const c of flood) c.destroy();
    await probe.stopAndAssert('pipelined /metrics');
    await assertHeapBack(gw, heap0, 'pipelined /metrics');
  });
});
