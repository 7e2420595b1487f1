/**
 * docs/migration-guide.md, executed: the demo is started with the guide's own command line
 * (its variables; only the ports are free ones instead of 8080/8081, and the guide's addresses
 * are rewritten to them), then every shell block that talks to the demo runs, top to bottom, in
 * bash with `set -euo pipefail` (an unset variable fails), sharing exported variables as a
 * terminal would, and its output is checked against what the guide shows after it.
 * Blocks not meant for the demo (production settings, the two-terminal Kafka setup) are named
 * and skipped; a block neither run nor skipped fails the test, so new commands get checked.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { freePort, GatewayProcess } from '../helpers/gateway-process.ts';

const execFileAsync = promisify(execFile);
const GUIDE = readFileSync(new URL('../../docs/migration-guide.md', import.meta.url), 'utf8');

interface Block {
  lang: string;
  body: string;
  line: number;
  /** The output block shown right after it (no language, or json), if any. */
  shown: string | null;
}

function blocks(md: string): Block[] {
  const out: Block[] = [];
  const re = /```(\w*)\n([\s\S]*?)```/g;
  const all = [...md.matchAll(re)].map((m) => ({
    lang: m[1] ?? '',
    body: m[2] ?? '',
    line: md.slice(0, m.index).split('\n').length,
  }));
  all.forEach((b, i) => {
    if (b.lang !== 'sh') return;
    const next = all[i + 1];
    const shown = next && (next.lang === '' || next.lang === 'json') ? next.body : null;
    out.push({ ...b, shown });
  });
  return out;
}

// biome-ignore lint/suspicious/noExplicitAny: JSON read back from commands
type Json = any;
/** The JSON documents a block printed (curl -s prints them back to back, without newlines). */
function jsonLines(text: string): Json[] {
  const docs: Json[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"' && depth > 0) inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && depth > 0 && --depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
  }
  return docs;
}

test('the migration guide runs as written against the demo', { timeout: 240_000 }, async (t) => {
  const all = blocks(GUIDE);
  assert.doesNotMatch(GUIDE, /live\.example\.com/, 'no placeholder host');
  for (const b of all)
    assert.doesNotMatch(b.body, /(^|\s)\.\.\.(\s|$)/m, `line ${b.line}: no literal ... in a command`);

  // 1. The start command: its variables, as the guide gives them.
  const start = all[0]!;
  assert.match(start.body, /npm start\s*$/m);
  const env = Object.fromEntries(
    [...start.body.matchAll(/([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!]),
  ) as Record<string, string>;
  assert.ok(env.ADMIN_TOKEN && env.ADMIN_READ_TOKEN, 'the start command sets both admin tokens');
  const legacyPort = await freePort();
  const gw = await GatewayProcess.start({
    name: 'guide-demo',
    // The embedded demo: no Kafka even when the suite's broker is in the environment ('' = unset).
    env: { ...env, KAFKA_BROKERS: '', LEGACY_DEMO_PORT: String(legacyPort), LOG_LEVEL: 'warn' },
  });
  t.after(() => gw.stop());
  const rewrite = (cmd: string) =>
    cmd
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${gw.port}`)
      .replaceAll('127.0.0.1:8081', `127.0.0.1:${legacyPort}`);

  // 2. One terminal: each block in bash, exported variables carried to the next block.
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-guide-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const envFile = join(dir, 'env.sh');
  writeFileSync(envFile, '');
  const run = async (b: Block): Promise<string> => {
    const script = join(dir, `block-${b.line}.sh`);
    writeFileSync(
      script,
      `set -euo pipefail\nsource ${envFile}\n${rewrite(b.body)}\nexport -p > ${envFile}\n`,
    );
    const { stdout } = await execFileAsync('bash', [script], { timeout: 30_000, cwd: dir });
    return stdout;
  };

  const skipped = new Map<number, string>();
  const ran = new Set<number>();
  const checks: Record<string, (out: string, b: Block) => boolean | undefined> = {
    // Shown: the routes with their mode, contract and where serve would answer from.
    routes: (out, b) => {
      const [got] = jsonLines(out);
      const want = JSON.parse(rewrite(b.shown!.replaceAll('\n', '')));
      assert.deepEqual(Object.keys(got).sort(), ['fleet', 'routes', 'version']);
      const { shadow: _s, backend: _b, ...wantRoute } = want.routes[0];
      const { shadow, backend, ...gotRoute } = got.routes[0];
      assert.deepEqual(gotRoute, wantRoute);
      assert.equal(backend, `http://127.0.0.1:${legacyPort}`);
      for (const k of Object.keys(_s)) assert.equal(shadow[k], 0, `shadow.${k}`);
      return true;
    },
    proxy: (out) => /^HTTP\/1\.1 200 OK/.test(out) && /identical/.test(out),
    shadow: (out) => {
      const docs = jsonLines(out);
      assert.equal(docs[0].mode, 'shadow');
      const stats = docs[1].routes['live-map'];
      const compared = ['match', 'structural', 'drift', 'legacy_error', 'render_error'].reduce(
        (n, k) => n + stats[k],
        0,
      );
      assert.ok(compared >= 1 && compared <= 5, `comparisons: ${compared}`);
      return true;
    },
    serve: (out, b) => {
      for (const line of b.shown!.split('\n').filter(Boolean)) {
        if (line.startsWith('ETag:')) assert.match(out, /^ETag: W\/"[^"]+"/m);
        else if (line.startsWith('Vary:')) continue;
        else assert.ok(out.includes(line), `shown header: ${line}`);
      }
      return true;
    },
    notModified: (out) => /^HTTP\/1\.1 304 Not Modified/.test(out) || undefined,
    sampleReset: (out) => {
      const [r] = jsonLines(out);
      return r.mode === 'shadow' && r.sampleRateSource === 'LEGACY_SHADOW_SAMPLE';
    },
    fleet: (out) => {
      const [put, view] = jsonLines(out);
      assert.equal(put.mode, 'proxy');
      assert.equal(view.converged, true);
      return true;
    },
    rollout: (out) => {
      const docs = jsonLines(out);
      assert.equal(docs.length, 6);
      for (const d of docs) assert.equal(d.error, undefined, JSON.stringify(d));
      const last = docs[5].rules;
      assert.deepEqual(
        [last.percent, last.killSwitch, last.allow, last.deny],
        [25, false, ['ops-laptop-1', 'qa-tablet'], ['kiosk-17']],
        'the steps kept the canary and the deny list; the kill switch is lifted',
      );
      assert.equal(docs[4].rules.killSwitch, true);
      return true;
    },
  };
  const which = (b: Block): string | null => {
    if (/live-map\.internal/.test(b.body)) return 'skip:production settings';
    if (/--kafka-demo/.test(b.body)) return 'skip:two terminals on the Kafka demo';
    if (/^export TOKEN/m.test(b.body)) return 'routes';
    if (/cmp </.test(b.body)) return 'proxy';
    if (/"mode":"shadow","sampleRate":1/.test(b.body)) return 'shadow';
    if (/"mode":"serve"/.test(b.body)) return 'serve';
    if (/If-None-Match/.test(b.body)) return 'notModified';
    if (/"sampleRate":null/.test(b.body)) return 'sampleReset';
    if (/If-Match/.test(b.body)) return 'fleet';
    if (/v1\/admin\/rollout/.test(b.body)) return 'rollout';
    return null;
  };
  for (const b of all.slice(1)) {
    const kind = which(b);
    assert.ok(kind, `line ${b.line}: a shell block the test does not know:\n${b.body}`);
    if (kind.startsWith('skip:')) {
      skipped.set(b.line, kind);
      continue;
    }
    // Some outputs depend on the moment (a refresh between two requests, an order between a GET
    // and its conditional GET): the guide says to run them again, and so does the test (3 times).
    let ok: boolean | undefined;
    let out = '';
    for (let attempt = 0; attempt < 3 && !ok; attempt++) {
      out = await run(b);
      ok = checks[kind]!(out, b);
    }
    assert.ok(ok, `line ${b.line} (${kind}) printed:\n${out}`);
    ran.add(b.line);
  }
  assert.ok(ran.size >= 8, `ran ${ran.size} blocks, skipped ${[...skipped.values()].join(', ')}`);
});
