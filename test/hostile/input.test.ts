/**
 * Malformed and non-canonical requests (issue 16, items 3, 5 and 6): every one is a 4xx from the
 * catalogue, before and after auth, logged without an error-level line or a stack; paths are
 * served in their one canonical spelling only (what the shipped NGINX config matches);
 * `/v1/stream` refuses an `Accept` that excludes `text/event-stream`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { GatewayProcess } from '../helpers/gateway-process.ts';
import {
  assertCatalogue,
  assertStreamsBackTo,
  errorLogLines,
  HealthProber,
  NoiseControl,
  RawClient,
  rawAsk,
  rawRequest,
  startTarget,
  streamGauges,
} from './harness.ts';

const ADMIN = 'hostile-admin-token-0123456789';
const auth = { Authorization: `Bearer ${ADMIN}` };
const REPORT = JSON.stringify({ transport: 'sse', latencyMs: [12, 15] });

describe('hostile: malformed input', { timeout: 120_000 }, () => {
  let gw: GatewayProcess;
  let control: NoiseControl;
  before(async () => {
    control = await NoiseControl.start();
    gw = await startTarget({ ADMIN_TOKEN: ADMIN, RATE_LIMIT_PER_SECOND: '0' });
  });
  after(async () => {
    control?.stop();
    await gw?.stop();
  });

  test('malformed percent-encoding in a path is 400 BAD_REQUEST on every route, 401 on admin routes without auth', async () => {
    const probe = await HealthProber.start(gw, control);
    // Without a token an admin path is refused by the pipeline's authentication step before any
    // router reads the path: 401, never a 500.
    const cases: Array<[string, string, Record<string, string>, number, string]> = [
      ['GET', '/compare/assets/%E0%A4%A', {}, 400, 'BAD_REQUEST'],
      ['PUT', '/v1/admin/routes/%E0%A4%A', {}, 401, 'UNAUTHORIZED'],
      ['PUT', '/v1/admin/routes/%E0%A4%A', auth, 400, 'BAD_REQUEST'],
      ['PUT', '/v1/admin/routes/%ZZ', auth, 400, 'BAD_REQUEST'],
    ];
    for (const [method, path, headers, status, code] of cases) {
      const body = method === 'PUT' ? '{"mode":"proxy"}' : undefined;
      const h = body ? { ...headers, 'Content-Type': 'application/json' } : headers;
      const a = await rawAsk(gw.port, rawRequest(method, path, h, body));
      assertCatalogue(a, status, code);
    }
    // Static files (express.static) treat a path they cannot decode as one they do not have.
    for (const path of ['/demo/%E0%A4%A', '/demo/%', '/demo/..%2f..%2fpackage.json'])
      assertCatalogue(await rawAsk(gw.port, rawRequest('GET', path)), 404, 'NOT_FOUND');
    await probe.stopAndAssert('malformed paths');
    assert.deepEqual(errorLogLines(gw), [], 'client errors are not logged as errors');
  });

  test('telemetry with a Content-Encoding or a charset other than UTF-8 is 415, a broken body 4xx', async () => {
    const ct = { 'Content-Type': 'application/json' };
    const cases: Array<[string, Record<string, string>, string | Buffer]> = [
      ['br', { ...ct, 'Content-Encoding': 'br' }, Buffer.from([0x1b, 0x00, 0x00])],
      ['broken gzip', { ...ct, 'Content-Encoding': 'gzip' }, Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3])],
      ['gzip', { ...ct, 'Content-Encoding': 'gzip' }, gzipSync(REPORT)],
      ['deflate', { ...ct, 'Content-Encoding': 'deflate' }, Buffer.from('x\x9c', 'latin1')],
      ['utf-16', { 'Content-Type': 'application/json; charset=utf-16' }, Buffer.from(REPORT, 'utf16le')],
      ['latin1', { 'Content-Type': 'text/plain; charset=iso-8859-1' }, REPORT],
    ];
    for (const [what, headers, body] of cases) {
      const a = await rawAsk(gw.port, rawRequest('POST', '/v1/telemetry', headers, body));
      assert.equal(a.status, 415, `${what}: ${a.body}`);
      assertCatalogue(a, 415, 'UNSUPPORTED_MEDIA_TYPE');
    }
    // Identity and plain UTF-8 are accepted as before.
    for (const headers of [
      { ...ct, 'Content-Encoding': 'identity' },
      { 'Content-Type': 'application/json; charset=utf-8' },
      { 'Content-Type': 'text/plain;charset=UTF-8' },
    ]) {
      const a = await rawAsk(gw.port, rawRequest('POST', '/v1/telemetry', headers, REPORT));
      assert.equal(a.status, 202, `${JSON.stringify(headers)}: ${a.body}`);
    }
    // Admin bodies follow the same rules, after auth.
    const patch = await rawAsk(
      gw.port,
      rawRequest(
        'PUT',
        '/v1/admin/rollout',
        { ...auth, ...ct, 'Content-Encoding': 'gzip' },
        gzipSync('{"percent":5}'),
      ),
    );
    assertCatalogue(patch, 415, 'UNSUPPORTED_MEDIA_TYPE');
    assert.deepEqual(errorLogLines(gw), [], 'client errors are not logged as errors');
  });

  test('paths have one spelling: case and trailing-slash variants are 404 NOT_FOUND', async () => {
    const baseline = await streamGauges(gw);
    for (const path of [
      '/METRICS',
      '/Metrics',
      '/metrics/',
      '/HEALTHZ',
      '/V1/Stream',
      '/v1/stream/',
      '/V1/STREAM/',
      '/v1/Snapshot',
      '/v1/snapshot/',
      '/V1/stats/latency',
      '/Compare',
    ]) {
      const a = await rawAsk(gw.port, rawRequest('GET', path, { Accept: 'text/event-stream' }));
      assertCatalogue(a, 404, 'NOT_FOUND');
    }
    // The canonical spellings still answer.
    for (const path of ['/metrics', '/healthz', '/v1/snapshot', '/v1/stats/latency', '/compare', '/compare/'])
      assert.equal((await rawAsk(gw.port, rawRequest('GET', path))).status, 200, path);
    await assertStreamsBackTo(gw, baseline);
  });

  test('Accept without text/event-stream on /v1/stream is 406 NOT_ACCEPTABLE; EventSource and curl still stream', async () => {
    for (const accept of ['application/json', 'text/html', 'text/event-stream;q=0, application/json']) {
      const a = await rawAsk(gw.port, rawRequest('GET', '/v1/stream', { Accept: accept }));
      assertCatalogue(a, 406, 'NOT_ACCEPTABLE');
    }
    for (const accept of [
      'text/event-stream',
      '*/*',
      'text/*',
      'application/json, text/event-stream;q=0.5',
      'TEXT/EVENT-STREAM',
      null,
    ]) {
      const c = await RawClient.open(gw.port);
      c.write(rawRequest('GET', '/v1/stream', accept === null ? {} : { Accept: accept }));
      await c.waitFor((t) => t.includes('event: snapshot'), 5000, `a stream for Accept: ${accept}`);
      assert.deepEqual(c.statuses(), [200], String(accept));
      c.destroy();
    }
  });
});
