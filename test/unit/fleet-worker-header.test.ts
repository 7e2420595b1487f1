/**
 * docs/operations.md: the answers of `/v1/admin/*`, `/metrics`, `/healthz`, `/readyz` and
 * `/v1/stats/*` name the process that answered (`X-Switchyard-Worker`), refusals included, so
 * an operator can tell which worker refused; public routes never carry the internal name.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFixture } from './core-fixture.ts';

const TOKEN = 'write-token-0123456789';

test('operators’ answers name the worker, refusals by the pipeline included; public ones do not', async (t) => {
  const f = await startFixture(t, { env: { ADMIN_TOKEN: TOKEN, SWITCHYARD_INSTANCE: 'pod-a' } });
  const named = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${f.url}${path}`, init);
    await res.arrayBuffer();
    return { status: res.status, worker: res.headers.get('x-switchyard-worker') };
  };
  assert.deepEqual(
    await named('/v1/admin/fleet'),
    { status: 401, worker: 'pod-a/0' },
    'refused before any router',
  );
  assert.deepEqual(await named('/v1/admin/fleet', { headers: { authorization: `Bearer ${TOKEN}` } }), {
    status: 200,
    worker: 'pod-a/0',
  });
  assert.equal((await named('/metrics')).worker, 'pod-a/0');
  assert.equal((await named('/readyz')).worker, 'pod-a/0');
  assert.equal((await named('/v1/snapshot')).worker, null, 'a public route does not show the internal name');
  assert.equal((await named('/v1/stream', { method: 'POST' })).worker, null);
});
