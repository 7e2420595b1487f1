#!/usr/bin/env node
/**
 * `npm run build`: the package as plain JavaScript in dist/, so it runs with `node` alone (no
 * tsx, no TypeScript, no esbuild at run time):
 *   1. tsc -p tsconfig.build.json: .js + .d.ts + maps (relative `.ts` imports rewritten to `.js`);
 *   2. the static assets the routers serve from next to their modules;
 *   3. the browser client kit bundled once (esbuild), served as /v1/client.js from dist.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const require = createRequire(import.meta.url);
const log = (m) => process.stderr.write(`[build] ${m}\n`);

rmSync(dist, { recursive: true, force: true });
log('tsc -p tsconfig.build.json');
execFileSync(
  process.execPath,
  [require.resolve('typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
  {
    stdio: 'inherit',
    cwd: root,
  },
);
for (const dir of ['compat/compare-ui', 'compat/demo/public']) {
  log(`copy ${dir}`);
  cpSync(join(root, dir), join(dist, dir), { recursive: true });
}
log('bundle the client kit');
// The same function the development server uses, from the JavaScript just emitted.
const { writeClientBundle } = await import(join(dist, 'compat/server/client-kit-route.js'));
await writeClientBundle(join(root, 'compat/client/index.ts'));
log(`done: ${dist}`);
