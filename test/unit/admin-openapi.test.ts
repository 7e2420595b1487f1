/**
 * The admin API reference is the admin API: every `/v1/admin/*` route the app mounts is in the
 * OpenAPI document (same path, same methods) and the document names nothing else; the gateway
 * serves it; docs/admin-api.md is its rendering (`npm run docs:admin-api`).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { createApp } from '../../gateway/http/app.ts';
import { ADMIN_OPENAPI, renderAdminApiMarkdown } from '../../gateway/http/openapi.ts';
import { startFixture } from './core-fixture.ts';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** `METHOD /path` of every route mounted in an express app (nested routers included). */
function mounted(stack: readonly Layer[], out = new Set<string>()): Set<string> {
  for (const layer of stack) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const p of paths)
        for (const [m, on] of Object.entries(layer.route.methods))
          if (on && m !== '_all') out.add(`${m.toUpperCase()} ${p.replace(/:(\w+)/g, '{$1}')}`);
    } else if (layer.handle?.stack) mounted(layer.handle.stack, out);
  }
  return out;
}

test('every admin route is in the OpenAPI document, and nothing else is', async (t) => {
  const f = await startFixture(t, { env: { ADMIN_TOKEN: 'write-token-0123456789' } });
  const app = createApp(f.ctx).express as unknown as { router: { stack: Layer[] } };
  const admin = [...mounted(app.router.stack)].filter((r) => r.split(' ')[1]!.startsWith('/v1/admin')).sort();
  const documented = Object.entries(ADMIN_OPENAPI.paths)
    .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
    .sort();
  assert.ok(admin.length >= 7, `found the mounted admin routes: ${admin.join(', ')}`);
  assert.deepEqual(admin, documented);

  const served = await fetch(`${f.url}/v1/admin/openapi.json`);
  assert.equal(served.status, 200);
  assert.deepEqual(await served.json(), JSON.parse(JSON.stringify(ADMIN_OPENAPI)));
});

test('docs/admin-api.md is the rendering of the document', () => {
  const md = readFileSync(new URL('../../docs/admin-api.md', import.meta.url), 'utf8');
  assert.equal(md, renderAdminApiMarkdown(), 'run `npm run docs:admin-api`');
});

test('/ links the pages an operator starts from', async (t) => {
  const f = await startFixture(t);
  const res = await fetch(`${f.url}/`);
  assert.equal(res.status, 200);
  const html = await res.text();
  for (const href of ['/compare', '/demo/', '/metrics', '/v1/admin/openapi.json'])
    assert.ok(html.includes(`href="${href}"`), href);
  assert.match(html, /docs\/migration-guide\.md/);
});
