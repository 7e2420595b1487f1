/**
 * Issue 14 end to end, as a new team adopts Switchyard without forking it: the project is packed
 * (`npm pack`, which builds), the tarball installed into an empty folder outside the repository,
 * and the installed `switchyard` run with plain node (no TypeScript toolchain there) on a config
 * file and a contract of that folder's own, in front of an old-style backend written here for a
 * board endpoint unlike the demo's: proxy, shadow with 0 mismatches, serve with byte-identical
 * bodies, SSE from the same cache. A broken contract and a bad config file each stop the start
 * with exit code 2 and a message naming the file. Real broker (KAFKA_BROKERS, `npm test`).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../helpers/gateway-process.ts';
import { closeKafkaHelpers, createTopic, produce } from '../helpers/kafka.ts';
import { listenServer } from '../helpers/sse-client.ts';
import { oneTableConfig, writeUserRepository } from '../helpers/user-repository.ts';
import { pollForValue } from '../helpers/wait.ts';

const run = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ROUTE = '/api/v2/board.json';
const ADMIN = 'e2e-admin-token-0123456789abcdef';
const WAIT_MS = 20_000;

/** A row of the old board: a team and its points, as the `board` topic carries it. */
interface Team {
  team: string;
  points: number;
  updatedAt: number;
}

/**
 * The old service: keeps the teams it was fed and answers `GET /api/v2/board.json` with the
 * board ranked by points (ties by team name), stamped with its newest data time.
 */
function renderOldBoard(teams: Map<string, Team>): string {
  const rows = [...teams.values()].sort((a, b) => b.points - a.points || (a.team < b.team ? -1 : 1));
  const newest = rows.reduce((m, r) => Math.max(m, r.updatedAt), 0);
  return JSON.stringify({
    as_of: new Date(newest).toISOString(),
    standings: rows.map((r, i) => ({ rank: i + 1, team: r.team, points: r.points })),
  });
}

/** The team's contract for that endpoint, kept in its own repository (here: the temp folder). */
const CONTRACT = `import { defineContract, z } from 'switchyard/contract';

const isTeam = (v) =>
  typeof v === 'object' && v !== null && typeof v.team === 'string' && Number.isInteger(v.points);

export default defineContract({
  name: 'board',
  route: '${ROUTE}',
  version: 1,
  streams: { board: 'table' },
  cacheControl: 'public, max-age=5',
  volatile: [],
  arrayKeys: { standings: 'team' },
  shape: z.object({
    as_of: z.string(),
    standings: z.array(z.object({ rank: z.number(), team: z.string(), points: z.number() }).strict()),
  }).strict(),
  render(view) {
    const rows = [];
    for (const r of view.table('board')) if (isTeam(r.value)) rows.push(r.value);
    rows.sort((a, b) => b.points - a.points || (a.team < b.team ? -1 : 1));
    return {
      as_of: new Date(view.asOf ?? 0).toISOString(),
      standings: rows.map((r, i) => ({ rank: i + 1, team: r.team, points: r.points })),
    };
  },
});
`;

interface Reply {
  status: number;
  headers: Headers;
  text: string;
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** Polls `fn` (errors count as not yet) every 100 ms until it gives a value; fails after WAIT_MS. */
const until = <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> =>
  pollForValue(what, fn, { timeoutMs: WAIT_MS, intervalMs: 100, retryErrors: true });

describe('the packed package, installed in an empty folder, on a user contract and config file', {
  timeout: 420_000,
}, () => {
  const work = mkdtempSync(join(tmpdir(), 'switchyard-adopt-'));
  const teams = new Map<string, Team>();
  let topic: string;
  let backend: Server;
  let backendUrl: string;
  let gateway: ChildProcess | null = null;
  let gwUrl: string;
  let output = '';
  const bin = join(work, 'node_modules', '.bin', 'switchyard');
  /** Only what a process needs: no KAFKA_BROKERS or other settings leak in from the test run. */
  const cleanEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? work };

  async function feed(rows: Team[]): Promise<void> {
    for (const r of rows) teams.set(r.team, r);
    await produce(
      topic,
      rows.map((r) => ({ key: r.team, value: JSON.stringify(r), timestamp: r.updatedAt })),
    );
  }

  /** The gateway serves exactly what the old service does (same data applied on both sides). */
  const inStep = () =>
    until('the gateway to hold the fed rows', async () => {
      const r = await get(`${gwUrl}/v1/snapshot?streams=board`);
      const rows = JSON.parse(r.text).streams.board.entries as Record<string, { value: Team }>;
      const same = [...teams.values()].every((t) => rows[t.team]?.value.points === t.points);
      return same && Object.keys(rows).length === teams.size ? true : undefined;
    });

  const admin = (path: string, body?: unknown) =>
    fetch(`${gwUrl}${path}`, {
      method: body === undefined ? 'GET' : 'PUT',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));

  /** Runs the installed command to its end (for the start-up failures and `config check`). */
  async function runInstalled(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args], {
        cwd: work,
        env: cleanEnv,
        timeout: 30_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof e.code === 'number' ? e.code : -1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      };
    }
  }

  before(async () => {
    // 1. Pack (prepack builds dist/) and install into the empty folder, from the npm cache.
    const packs = join(work, 'packs');
    mkdirSync(packs);
    await run('npm', ['pack', '--pack-destination', packs, '--silent'], { cwd: ROOT, timeout: 180_000 });
    const tgz = readdirSync(packs).find((f) => f.endsWith('.tgz'));
    assert.ok(tgz, 'npm pack wrote a tarball');
    const app = join(work, 'package.json');
    writeFileSync(app, JSON.stringify({ name: 'board-team', private: true, type: 'module' }));
    await run(
      'npm',
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(packs, tgz)],
      { cwd: work, timeout: 180_000 },
    );

    // 2. The data and the old service.
    topic = await createTopic('e2e-board', { compacted: true });
    backend = createServer((req, res) => {
      if (req.url !== ROUTE) {
        res.writeHead(404).end();
        return;
      }
      const body = renderOldBoard(teams);
      res.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'cache-control': 'public, max-age=5',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
    backendUrl = (await listenServer(backend)).url;
    const t0 = Date.now() - 60_000;
    await feed(
      ['ajax', 'benfica', 'celtic', 'dinamo', 'esbjerg'].map((team, i) => ({
        team,
        points: 10 + (i % 3),
        updatedAt: t0 + i,
      })),
    );

    // 3. The team's repository: a contract folder and a config file, nothing of Switchyard's.
    const port = await freePort();
    gwUrl = `http://127.0.0.1:${port}`;
    writeUserRepository(
      work,
      { 'board.mjs': CONTRACT },
      {
        ...oneTableConfig({ port, stream: 'board', topic, adminToken: ADMIN }),
        logLevel: 'warn',
        rateLimitPerSecond: 0,
        legacyUrl: backendUrl,
        legacyRoutes: [{ name: 'board', path: ROUTE, mode: 'proxy' }],
        legacyContracts: ['./contracts'],
        legacyShadowSample: 1,
      },
    );
  });

  after(async () => {
    if (gateway && gateway.exitCode === null) {
      gateway.kill('SIGTERM');
      await Promise.race([once(gateway, 'exit'), sleep(15_000)]);
      if (gateway.exitCode === null) gateway.kill('SIGKILL');
    }
    backend?.close();
    await closeKafkaHelpers();
    rmSync(work, { recursive: true, force: true });
  });

  test('the install holds JavaScript only: no TypeScript toolchain, no tsx, no esbuild', () => {
    for (const dev of ['typescript', 'tsx', 'esbuild'])
      assert.equal(existsSync(join(work, 'node_modules', dev)), false, `${dev} installed`);
    const pkg = join(work, 'node_modules', 'switchyard');
    assert.ok(existsSync(join(pkg, 'dist', 'gateway', 'main.js')));
    assert.ok(existsSync(join(pkg, 'dist', 'compat', 'client', 'index.d.ts')), 'client kit types');
    assert.equal(existsSync(join(pkg, 'gateway', 'main.ts')), false, 'no TypeScript sources shipped');
  });

  test('config check on the config file; other commands run', async () => {
    const check = await runInstalled(['config', 'check', 'switchyard.config.json']);
    assert.equal(check.code, 0, check.stderr);
    assert.match(
      check.stdout,
      /switchyard\.config\.json: valid \(1 streams, 1 legacy routes, 1 contracts, source Kafka, 1 worker \(WORKERS\)\)/,
    );
    const print = await runInstalled(['config', 'print']);
    assert.equal(print.code, 0, print.stderr);
    assert.equal(JSON.parse(print.stdout).adminToken, '********');
    assert.equal((await runInstalled(['compare', '--help'])).code, 0);
    assert.equal((await runInstalled(['kafka', 'status', '--state', join(work, 'no-broker')])).code, 3);
  });

  test('a broken contract and a bad config file each stop the start, naming the file', async () => {
    mkdirSync(join(work, 'broken'));
    const broken = join(work, 'broken', 'board.mjs');
    writeFileSync(broken, CONTRACT.replace('render(view) {', 'render(view) {{'));
    const c = await runInstalled(['--legacy-contracts', './broken']);
    assert.equal(c.code, 2, c.stderr);
    assert.match(c.stderr, /Invalid legacy contracts/);
    assert.ok(c.stderr.includes(`${broken}: failed to load`), c.stderr);

    const bad = join(work, 'bad.config.json');
    writeFileSync(bad, JSON.stringify({ port: 'eighty', legacyRoute: [] }));
    const f = await runInstalled(['--config', bad]);
    assert.equal(f.code, 2, f.stderr);
    assert.ok(
      f.stderr.includes(`${bad}: legacyRoute: unknown setting (did you mean "legacyRoutes"?)`),
      f.stderr,
    );
    assert.ok(f.stderr.includes(`${bad}: port:`), f.stderr);
  });

  test('proxy, shadow with 0 mismatches, serve byte-identical, SSE from the same cache', async () => {
    // `npx switchyard` in the team's folder: plain node on the installed bin, config discovered.
    gateway = spawn(process.execPath, [bin], { cwd: work, env: cleanEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (b: Buffer) => {
      output = (output + b.toString()).slice(-20_000);
    };
    gateway.stdout?.on('data', keep);
    gateway.stderr?.on('data', keep);
    await until('the installed gateway to be ready', async () => {
      if (gateway?.exitCode !== null) throw new Error(`gateway exited: ${output}`);
      return (await get(`${gwUrl}/readyz`)).status === 200 ? true : undefined;
    }).catch((err: Error) => assert.fail(`${err.message}\n${output}`));
    await inStep();

    const contracts = await admin('/v1/admin/contracts');
    assert.deepEqual(
      (contracts.json.contracts as { name: string; file: string }[]).map((c) => [c.name, c.file]),
      [['board', join(work, 'contracts', 'board.mjs')]],
    );

    // proxy: the old service's bytes.
    const old = await get(`${backendUrl}${ROUTE}`);
    const proxied = await get(`${gwUrl}${ROUTE}`);
    assert.equal(proxied.status, 200);
    assert.equal(proxied.text, old.text);
    assert.equal(proxied.headers.get('x-switchyard-source'), null);

    // shadow: every request compared (sample 1), all matches.
    assert.equal((await admin('/v1/admin/routes/board', { mode: 'shadow' })).status, 200);
    const N = 8;
    for (let i = 0; i < N; i++) assert.equal((await get(`${gwUrl}${ROUTE}`)).text, old.text);
    const stats = await until('the shadow comparisons', async () => {
      const s = (await admin('/v1/admin/shadow?route=board')).json as {
        routes: { board: Record<string, number> };
      };
      const b = s.routes.board;
      const done = (b.match ?? 0) + (b.structural ?? 0) + (b.drift ?? 0) + (b.legacy_error ?? 0);
      return done >= N ? s : undefined;
    });
    assert.equal(stats.routes.board.match, N, JSON.stringify(stats));
    assert.equal((stats as unknown as { mismatches: unknown[] }).mismatches.length, 0);

    // serve: from the cache, byte for byte what the old service says.
    assert.equal((await admin('/v1/admin/routes/board', { mode: 'serve' })).status, 200);
    const served = await get(`${gwUrl}${ROUTE}`);
    assert.equal(served.headers.get('x-switchyard-source'), 'cache');
    assert.equal(served.headers.get('cache-control'), old.headers.get('cache-control'));
    assert.equal(served.text, old.text);

    // SSE from the same cache: the snapshot, then a change that also shows on the served route.
    const ac = new AbortController();
    const sse = await fetch(`${gwUrl}/v1/stream?streams=board`, { signal: ac.signal });
    assert.equal(sse.status, 200);
    const reader = sse.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (what: RegExp) => {
      const deadline = Date.now() + WAIT_MS;
      while (!what.test(text)) {
        if (Date.now() > deadline) throw new Error(`SSE: no ${what} in ${text.slice(-500)}`);
        const { value, done } = await reader.read();
        if (done) throw new Error('SSE ended');
        text += decoder.decode(value, { stream: true });
      }
    };
    await readUntil(/event: snapshot\n[\s\S]*"ajax"[\s\S]*\n\n/);
    await feed([{ team: 'esbjerg', points: 99, updatedAt: Date.now() }]);
    await readUntil(/event: update\n[\s\S]*"points":99/);
    ac.abort();
    await inStep();
    const after = await get(`${gwUrl}${ROUTE}`);
    assert.equal(after.text, renderOldBoard(teams));
    assert.equal(JSON.parse(after.text).standings[0].team, 'esbjerg');
  });
});
