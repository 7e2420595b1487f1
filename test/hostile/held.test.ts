/**
 * The attacks issue 16 found already held, kept as regressions over raw sockets: request
 * smuggling, slowloris and partial requests, header and URL floods, stream and admin tokens,
 * CORS, unbounded metric labels; and what is public with stream tokens on (docs/security.md).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mintStreamToken } from '../../gateway/security/stream-token.ts';
import type { GatewayProcess } from '../helpers/gateway-process.ts';
import {
  assertCatalogue,
  assertHeapBack,
  assertStreamsBackTo,
  HealthProber,
  heap,
  NoiseControl,
  RawClient,
  rawAsk,
  rawRequest,
  startTarget,
  streamGauges,
} from './harness.ts';

const SECRET = 'hostile-stream-token-secret-0123456789';
const ADMIN = 'hostile-admin-token-0123456789';
const ORIGIN = 'https://app.example.com';
const token = (streams: string[] | '*') =>
  mintStreamToken(SECRET, { exp: Math.floor(Date.now() / 1000) + 3600, streams });
const ALL = token('*');

describe('hostile: attacks that held', { timeout: 180_000 }, () => {
  let gw: GatewayProcess;
  let control: NoiseControl;
  before(async () => {
    control = await NoiseControl.start();
    gw = await startTarget({
      STREAM_TOKEN_SECRET: SECRET,
      ADMIN_TOKEN: ADMIN,
      CORS_ORIGINS: ORIGIN,
      MAX_STREAMS_PER_IP: '5',
      RATE_LIMIT_PER_SECOND: '0',
    });
  });
  after(async () => {
    control?.stop();
    await gw?.stop();
  });

  test('request smuggling: Content-Length with Transfer-Encoding is 400 and nothing smuggled is answered', async () => {
    const smuggled = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n';
    for (const head of [
      `POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`,
      `POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\n{}{}${smuggled}`,
      `POST /v1/telemetry HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${smuggled}`,
    ]) {
      const c = await RawClient.open(gw.port);
      c.write(head);
      await c.waitClosed(3000);
      assert.deepEqual(c.statuses(), [400], c.text.slice(0, 200));
      assert.match(c.text, /"code":"BAD_REQUEST"/);
    }
  });

  test('slowloris: partial requests hold no stream, cost no /healthz time and leave no memory', async () => {
    const baseline = await streamGauges(gw);
    const heap0 = await heap(gw);
    const probe = await HealthProber.start(gw, control);
    const slow: RawClient[] = [];
    for (let i = 0; i < 200; i++) {
      const c = await RawClient.open(gw.port);
      c.write(
        `GET /v1/stream?access_token=${ALL} HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\nX-Pad: `,
      );
      slow.push(c);
    }
    // A byte now and then, as slowloris does.
    for (let round = 0; round < 3; round++) {
      await sleep(100);
      for (const c of slow) c.write('a');
    }
    assert.deepEqual(await streamGauges(gw), baseline, 'a request without its end of headers is no stream');
    // The defence itself: the server gives up on them (headersTimeout 20 s, checked every 30 s by
    // Node) with a 408 and closes, the attacker dripping bytes or not.
    for (const c of slow) {
      await c.waitClosed(60_000);
      assert.deepEqual(c.statuses(), [408], c.text.slice(0, 200));
    }
    await probe.stopAndAssert('slowloris');
    await assertStreamsBackTo(gw, baseline);
    await assertHeapBack(gw, heap0, 'slowloris');
  });

  test('header and URL floods are 431 and 414 from the catalogue', async () => {
    const big = await rawAsk(gw.port, rawRequest('GET', '/healthz', { 'X-Big': 'a'.repeat(20_000) }));
    assertCatalogue(big, 431, 'HEADERS_TOO_LARGE');
    const many: Record<string, string> = {};
    for (let i = 0; i < 2500; i++) many[`X-H${i}`] = 'v';
    const a = await rawAsk(gw.port, rawRequest('GET', '/healthz', many));
    assertCatalogue(a, 431, 'HEADERS_TOO_LARGE');
    const long = await rawAsk(gw.port, rawRequest('GET', `/v1/snapshot?streams=${'a'.repeat(9000)}`));
    assertCatalogue(long, 414, 'URI_TOO_LONG');
  });

  test('stream tokens: 401 without or with a forged one, 403 outside its streams, names never listed', async () => {
    const ask = (q: string) => rawAsk(gw.port, rawRequest('GET', `/v1/snapshot${q}`));
    assertCatalogue(await ask(''), 401, 'UNAUTHORIZED');
    assertCatalogue(await ask(`?access_token=${ALL.slice(0, -2)}xx`), 401, 'UNAUTHORIZED');
    const forged = `${ALL.split('.').slice(0, 2).join('.')}.`;
    assertCatalogue(await ask(`?access_token=${forged}`), 401, 'UNAUTHORIZED');
    assertCatalogue(await ask(`?streams=totals&access_token=${token(['orders'])}`), 403, 'FORBIDDEN');
    // With tokens on, an unknown stream does not list the configured ones.
    const unknown = await ask(`?streams=nope&access_token=${ALL}`);
    assertCatalogue(unknown, 400, 'UNKNOWN_STREAM');
    assert.doesNotMatch(unknown.body, /"known"|orders|totals/, unknown.body);
    assert.equal((await ask(`?access_token=${ALL}`)).status, 200);
    // Streams too, on connect.
    const s = await rawAsk(gw.port, rawRequest('GET', '/v1/stream', { Accept: 'text/event-stream' }));
    assertCatalogue(s, 401, 'UNAUTHORIZED');
  });

  test('with tokens on, /compare/config.json (it names streams) needs a token that opens them', async () => {
    assertCatalogue(await rawAsk(gw.port, rawRequest('GET', '/compare/config.json')), 401, 'UNAUTHORIZED');
    const narrow = await rawAsk(
      gw.port,
      rawRequest('GET', `/compare/config.json?access_token=${token(['orders'])}`),
    );
    assertCatalogue(narrow, 403, 'FORBIDDEN');
    const ok = await rawAsk(
      gw.port,
      rawRequest('GET', '/compare/config.json', {
        Cookie: `switchyard_token=${token(['orders', 'totals'])}`,
      }),
    );
    assert.equal(ok.status, 200, ok.body);
    // Public by decision (docs/security.md): probes, the page itself, metrics on the instance port.
    for (const path of ['/healthz', '/readyz', '/compare', '/metrics'])
      assert.equal((await rawAsk(gw.port, rawRequest('GET', path))).status, 200, path);
  });

  test('admin API: 401 without or with a wrong bearer token, nothing parsed', async () => {
    for (const headers of [
      {},
      { Authorization: 'Bearer nope' },
      { Authorization: `Bearer ${ADMIN}x` },
    ] as Array<Record<string, string>>) {
      const a = await rawAsk(
        gw.port,
        rawRequest('PUT', '/v1/admin/rollout', { ...headers, 'Content-Type': 'application/json' }, '{bad'),
      );
      assertCatalogue(a, 401, 'UNAUTHORIZED');
    }
  });

  test('CORS: a foreign origin gets no grant and a 403 preflight; the allowed one is echoed', async () => {
    const pre = (origin: string) =>
      rawAsk(
        gw.port,
        rawRequest('OPTIONS', '/v1/snapshot', { Origin: origin, 'Access-Control-Request-Method': 'GET' }),
      );
    const evil = await pre('https://evil.example');
    assertCatalogue(evil, 403, 'FORBIDDEN');
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
    const good = await pre(ORIGIN);
    assert.equal(good.status, 204);
    assert.equal(good.headers['access-control-allow-origin'], ORIGIN);
  });

  test('unbounded labels: random paths, streams and headers add no metric series', async () => {
    // Only the gateway's own series: a GC of a kind not seen before adds a process series on its own.
    const seriesCount = async () =>
      (await gw.metricsText()).split('\n').filter((l) => l.startsWith('switchyard_')).length;
    // Warm every status the loop below can produce, so only new label values would show.
    const warm = ['/metrics', '/nope', `/v1/snapshot?streams=zz&access_token=${ALL}`, '/v1/snapshot'];
    for (const p of warm) await rawAsk(gw.port, rawRequest('GET', p));
    await sleep(300);
    const before = await seriesCount();
    for (let i = 0; i < 200; i++) {
      const r = Math.random().toString(36).slice(2);
      await rawAsk(gw.port, rawRequest('GET', `/${r}`, { 'X-Client': r }));
      await rawAsk(gw.port, rawRequest('GET', `/v1/snapshot?streams=${r}&access_token=${ALL}`));
    }
    await sleep(300);
    const text = await gw.metricsText();
    assert.equal(await seriesCount(), before, 'no series per client-supplied value');
    assert.doesNotMatch(text, /X-Client|access_token/);
  });
});
