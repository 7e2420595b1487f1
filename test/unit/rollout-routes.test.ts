/**
 * The rollout over HTTP on a whole gateway (MemorySource, in-memory rules): `GET /v1/transport`,
 * the admin API (auth, validation, old rules kept on refusal) and the `control` events that
 * move streaming kits to polling without a reload.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openSse, type SseEventItem } from '../helpers/sse-client.ts';
import { startFixture, total } from './core-fixture.ts';

const WRITE = 'write-token-0123456789';
const READ = 'read-token-0123456789';
const ENV = { ADMIN_TOKEN: WRITE, ADMIN_READ_TOKEN: READ, POLL_INTERVAL_MS: '2500', ROLLOUT_PERCENT: '100' };

// biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON read back from the wire
type Json = any;

async function put(
  url: string,
  body: unknown,
  token = WRITE,
  opts: { method?: string; ifMatch?: string } = {},
): Promise<{ status: number; json: Json; etag: string | null }> {
  const res = await fetch(`${url}/v1/admin/rollout`, {
    method: opts.method ?? 'PUT',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${token}`,
      ...(opts.ifMatch ? { 'if-match': opts.ifMatch } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json(), etag: res.headers.get('etag') };
}

async function getJson(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Json };
}

describe('GET /v1/transport', () => {
  test('answers a sticky decision with what the kit needs', async (t) => {
    const f = await startFixture(t, { env: ENV });
    const a = await getJson(`${f.url}/v1/transport?clientId=alice`);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('cache-control'), 'no-store');
    assert.ok(Math.abs(Number(a.headers.get('x-server-time')) - Date.now()) < 5000);
    assert.deepEqual(a.json, {
      transport: 'sse',
      reason: 'rollout',
      bucket: 586,
      clientId: 'alice',
      pollIntervalMs: 2500,
      recheckAfterMs: 60_000,
      percent: 100,
      rulesVersion: 0,
      provisional: false,
    });
  });

  test('a missing, repeated or malformed client id gets the default decision, not an error', async (t) => {
    const f = await startFixture(t, { env: ENV });
    for (const q of [
      '',
      '?clientId=',
      '?clientId=a&clientId=b',
      '?clientId=%20bad%20',
      `?clientId=${'x'.repeat(200)}`,
    ]) {
      const r = await getJson(`${f.url}/v1/transport${q}`);
      assert.equal(r.status, 200, q);
      assert.equal(r.json.transport, 'poll', q);
      assert.equal(r.json.reason, 'no_client_id', q);
      assert.equal(r.json.clientId, null, q);
    }
    const metrics = await (await fetch(`${f.url}/metrics`)).text();
    assert.match(metrics, /switchyard_transport_decisions_total\{transport="poll",reason="no_client_id"\} 5/);
  });
});

describe('admin rollout API', () => {
  test('needs a token; the read token may only read', async (t) => {
    const f = await startFixture(t, { env: ENV });
    assert.equal((await getJson(`${f.url}/v1/admin/rollout`)).status, 401);
    const read = await getJson(`${f.url}/v1/admin/rollout`, { authorization: `Bearer ${READ}` });
    assert.equal(read.status, 200);
    assert.deepEqual(read.json.rules.percent, 100);
    assert.equal(read.json.store, 'memory');
    const refused = await put(f.url, { percent: 0 }, READ);
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, 'FORBIDDEN');
    assert.equal((await put(f.url, { percent: 0 }, 'not-the-token-at-all')).status, 401);
    assert.equal(
      (await getJson(`${f.url}/v1/transport?clientId=alice`)).json.transport,
      'sse',
      'nothing changed',
    );
  });

  test('invalid rules are refused with the problem and the old rules stay in force', async (t) => {
    const f = await startFixture(t, { env: ENV });
    const ok = await put(f.url, { percent: 5, allow: ['vip'], note: 'canary' });
    assert.equal(ok.status, 200);
    assert.ok(ok.json.version > 0, 'a new version (an offset of the control log: monotone, not contiguous)');
    for (const bad of [
      { percent: 500 },
      { percent: 5, deny: ['vip'], allow: ['vip'] },
      '{"percent":',
      'null',
    ]) {
      const r = await put(f.url, bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.ok(['INVALID_RULES', 'BAD_BODY'].includes(r.json.error.code), r.json.error.code);
      if (r.json.error.code === 'INVALID_RULES') assert.ok(r.json.error.problems.length > 0);
    }
    const after = await getJson(`${f.url}/v1/admin/rollout`, { authorization: `Bearer ${READ}` });
    assert.equal(after.json.version, ok.json.version);
    assert.deepEqual(after.json.rules, {
      percent: 5,
      killSwitch: false,
      allow: ['vip'],
      deny: [],
      anonymous: 'poll',
      recheckAfterMs: 60_000,
      note: 'canary',
    });
    assert.equal((await getJson(`${f.url}/v1/transport?clientId=vip`)).json.reason, 'allow_list');
  });
});

describe('partial updates and versions', () => {
  test('PATCH changes only the fields given: a percentage step keeps the allow list', async (t) => {
    const f = await startFixture(t, { env: ENV });
    const canary = await put(f.url, { percent: 1, allow: ['vip'], note: 'canary' });
    assert.equal(canary.status, 200);
    const step = await put(f.url, { percent: 5 }, WRITE, { method: 'PATCH' });
    assert.equal(step.status, 200);
    assert.equal(step.json.rules.percent, 5);
    assert.deepEqual(step.json.rules.allow, ['vip'], 'the allow list is kept');
    assert.equal(step.json.rules.note, 'canary');
    const bad = await put(f.url, { percent: 500 }, WRITE, { method: 'PATCH' });
    assert.equal(bad.status, 400);
    // PUT still replaces: omitted fields take their defaults.
    const replaced = await put(f.url, { percent: 5 });
    assert.deepEqual(replaced.json.rules.allow, []);
  });

  test('If-Match: a write based on a stale version is refused with 409 and changes nothing', async (t) => {
    const f = await startFixture(t, { env: ENV });
    const read = await getJson(`${f.url}/v1/admin/rollout`, { authorization: `Bearer ${READ}` });
    const etag = read.headers.get('etag')!;
    assert.equal(etag, `"${read.json.version}"`);
    const first = await put(f.url, { percent: 10 }, WRITE, { method: 'PATCH', ifMatch: etag });
    assert.equal(first.status, 200);
    assert.equal(first.etag, `"${first.json.version}"`);
    const stale = await put(f.url, { percent: 20 }, WRITE, { method: 'PATCH', ifMatch: etag });
    assert.equal(stale.status, 409);
    assert.equal(stale.json.error.code, 'VERSION_CONFLICT');
    const now = await getJson(`${f.url}/v1/admin/rollout`, { authorization: `Bearer ${READ}` });
    assert.equal(now.json.rules.percent, 10);
    assert.equal(now.json.fleet.converged, true);
  });
});

describe('control events', () => {
  test('lowering the rollout tells the streaming kits it moves, and only them', async (t) => {
    const f = await startFixture(t, { env: ENV });
    const moved = await openSse(`${f.url}/v1/stream?clientId=alice`, { t });
    const vip = await openSse(`${f.url}/v1/stream?clientId=vip`, { t });
    const plain = await openSse(`${f.url}/v1/stream`, { t });
    for (const s of [moved, vip, plain]) assert.equal((await s.nextEvent()).event, 'snapshot');

    const r = await put(f.url, { percent: 0, allow: ['vip'], recheckAfterMs: 5000 });
    assert.equal(r.status, 200);
    const control = await moved.nextEvent();
    assert.equal(control.event, 'control');
    assert.deepEqual(JSON.parse(control.data), {
      transport: 'poll',
      reason: 'rollout',
      pollIntervalMs: 2500,
      recheckAfterMs: 5000,
      rulesVersion: r.json.version,
    });

    // The others' next event is the next update: no control event was sent to them.
    f.source.produce('topic.totals', [{ key: 'k', value: total(1) }]);
    for (const s of [vip, plain, moved]) assert.equal((await s.nextEvent()).event, 'update');

    // The kill switch moves everyone who can move (kits), whatever the lists say.
    await put(f.url, { percent: 100, killSwitch: true, allow: ['vip'] });
    const killed = (await vip.nextEvent()) as SseEventItem;
    assert.equal(killed.event, 'control');
    assert.equal(JSON.parse(killed.data).reason, 'kill_switch');
    const metrics = await (await fetch(`${f.url}/metrics`)).text();
    assert.match(metrics, /switchyard_rollout_control_events_total\{reason="rollout"\} 1/);
    assert.match(metrics, /switchyard_rollout_kill_switch 1/);
  });

  test('a kit that opens a stream while its decision is poll is told at once', async (t) => {
    const f = await startFixture(t, { env: { ...ENV, ROLLOUT_PERCENT: '0' } });
    const s = await openSse(`${f.url}/v1/stream?clientId=alice`, { t });
    assert.equal((await s.nextEvent()).event, 'snapshot');
    const c = await s.nextEvent();
    assert.equal(c.event, 'control');
    assert.equal(JSON.parse(c.data).reason, 'rollout');
  });
});
