/**
 * `GET /v1/client.js`: the kit bundled into one browser ES module (built once, then served
 * from memory with an ETag), its source map, and the demo pages that load it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFixture } from './core-fixture.ts';

test('serves the kit as one ES module with an ETag and a source map', async (t) => {
  const f = await startFixture(t);
  const res = await fetch(`${f.url}/v1/client.js`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  const js = await res.text();
  assert.match(js, /export\s*\{[^}]*\bconnect\b/, 'exports connect');
  assert.doesNotMatch(js, /from\s*["'](node:|eventsource|express|esbuild)/, 'no server-side imports');
  assert.doesNotMatch(js, /^\s*import\s/m, 'self-contained: one module, no further imports');
  assert.match(js, /\/\/# sourceMappingURL=client\.js\.map\s*$/);
  const etag = res.headers.get('etag');
  assert.ok(etag);

  const again = await fetch(`${f.url}/v1/client.js`, { headers: { 'if-none-match': etag } });
  assert.equal(again.status, 304);

  const map = await fetch(`${f.url}/v1/client.js.map`);
  assert.equal(map.status, 200);
  const sources = ((await map.json()) as { sources: string[] }).sources;
  assert.ok(
    sources.some((s) => s.endsWith('compat/client/engine.ts')),
    sources.join(','),
  );

  // The module runs (in Node here: no window, so it must not touch one at load). The map comment
  // goes: Node would resolve it against the data: URL.
  const code = js.replace(/\/\/# sourceMappingURL=.*$/m, '');
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as {
    connect: unknown;
    reduce: unknown;
  };
  assert.equal(typeof mod.connect, 'function');
  assert.equal(typeof mod.reduce, 'function');
});

test('serves the demo pages: the old polling page and the same page on the kit', async (t) => {
  const f = await startFixture(t);
  for (const page of ['old.html', 'kit.html', '']) {
    const res = await fetch(`${f.url}/demo/${page}`);
    assert.equal(res.status, 200, page);
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    await res.text();
  }
  const kit = await (await fetch(`${f.url}/demo/kit.js`)).text();
  assert.match(kit, /import \{ connect \} from '\/v1\/client\.js'/);
  assert.equal((await fetch(`${f.url}/demo/demo-route.ts`)).status, 404, 'only the public files are served');
});
