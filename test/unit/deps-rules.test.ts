/**
 * The dependency rules (.dependency-cruiser.cjs) fail the build when broken: dependency-cruiser
 * run on a small fixture tree with one violation of each rule reports each of them, the same tree
 * without them passes, and the repository itself passes (no known violations are listed).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface Run {
  code: number;
  rules: string[];
}

function run(cwd: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [DEPCRUISE, ...args], { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? Number(err.code) : 0, stdout });
    });
  });
}

/** Runs the check as `npm run lint:deps` does (exit code), and again for the rules it names. */
async function depcruise(cwd: string, extra: string[] = []): Promise<Run> {
  const base = ['gateway', 'legacy-adapter', 'compat', '--config', '.dependency-cruiser.cjs', ...extra];
  const check = await run(cwd, [...base, '-T', 'err']);
  const json = await run(cwd, [...base, '-T', 'json']);
  const out = JSON.parse(json.stdout) as {
    summary: { violations: Array<{ rule: { name: string; severity: string } }> };
  };
  const rules = out.summary.violations
    .filter((v) => v.rule.severity !== 'ignore')
    .map((v) => v.rule.name)
    .sort();
  return { code: check.code, rules };
}

/** A tree laid out like the repository: `files` maps paths to their imports. */
function fixture(files: Record<string, string[]>): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-deps-'));
  copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'nodenext', allowImportingTsExtensions: true, noEmit: true },
    }),
  );
  for (const [path, imports] of Object.entries(files)) {
    mkdirSync(join(dir, dirname(path)), { recursive: true });
    const body = imports.map((to, i) => `import * as m${i} from '${to}';\nconsole.log(m${i});\n`).join('');
    writeFileSync(join(dir, path), `${body}export const x = 1;\n`);
  }
  return dir;
}

const CLEAN: Record<string, string[]> = {
  'gateway/errors.ts': [],
  'gateway/protocol/events.ts': [],
  'gateway/cache/snapshot-cache.ts': ['../errors.ts'],
  'gateway/source/kafka-source.ts': ['../cache/snapshot-cache.ts'],
  'gateway/sse/hub.ts': ['../cache/snapshot-cache.ts', '../protocol/events.ts'],
  'gateway/http/app.ts': ['../sse/hub.ts'],
  'gateway/gateway.ts': ['./http/app.ts'],
  'gateway/switchyard.ts': ['./gateway.ts', '../legacy-adapter/legacy-route.ts'],
  'legacy-adapter/legacy-route.ts': ['../gateway/cache/snapshot-cache.ts'],
  'compat/client/index.ts': ['../../gateway/protocol/events.ts'],
};

test('the rules pass a tree that keeps them', async (t) => {
  const dir = fixture(CLEAN);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(await depcruise(dir), { code: 0, rules: [] });
});

test('each broken rule fails the check, named', async (t) => {
  const dir = fixture({
    ...CLEAN,
    // upward: the cache reaching for HTTP; the source for SSE
    'gateway/cache/snapshot-cache.ts': ['../errors.ts', '../http/app.ts'],
    'gateway/source/kafka-source.ts': ['../cache/snapshot-cache.ts', '../sse/hub.ts'],
    // the core importing an extension
    'gateway/http/app.ts': ['../sse/hub.ts', '../../legacy-adapter/legacy-route.ts'],
    // a cycle
    'gateway/sse/a.ts': ['./b.ts'],
    'gateway/sse/b.ts': ['./a.ts'],
    // the browser kit importing server code
    'compat/client/index.ts': ['../../gateway/protocol/events.ts', '../../gateway/sse/hub.ts'],
    // an extension reaching for the root
    'legacy-adapter/legacy-route.ts': ['../gateway/gateway.ts'],
    // the core reaching for the metric registry instead of its port
    'gateway/observability/metrics.ts': [],
    'gateway/poll/poll-route.ts': ['../observability/metrics.ts'],
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const run = await depcruise(dir);
  assert.notEqual(run.code, 0);
  for (const rule of [
    'layer-domain-no-upward',
    'layer-source-no-upward',
    'core-no-extensions',
    'no-circular',
    'client-kit-browser-only',
    'extension-no-root',
    'core-no-metrics-library',
  ])
    assert.ok(run.rules.includes(rule), `${rule} reported (got ${run.rules.join(', ')})`);
});

test('the metric registry is out of reach of every folder that reports through a port', async (t) => {
  for (const folder of ['cache', 'source', 'sse', 'poll', 'security', 'rollout', 'telemetry']) {
    const dir = fixture({
      ...CLEAN,
      'gateway/observability/metrics.ts': [],
      [`gateway/${folder}/reports.ts`]: ['../observability/metrics.ts'],
    });
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const run = await depcruise(dir);
    assert.notEqual(run.code, 0, `${folder}/ importing the registry fails the check`);
    assert.deepEqual(run.rules, ['core-no-metrics-library'], `${folder}/`);
  }
  // Its own adapters, in observability/, may.
  const dir = fixture({
    ...CLEAN,
    'gateway/observability/metrics.ts': [],
    'gateway/observability/security-events.ts': ['./metrics.ts'],
  });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  assert.deepEqual(await depcruise(dir), { code: 0, rules: [] });
});

test('the repository keeps the rules', async () => {
  const run = await depcruise(ROOT);
  assert.deepEqual(run, { code: 0, rules: [] });
});
