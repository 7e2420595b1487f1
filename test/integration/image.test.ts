/**
 * The shipped image (docs/deploy/Dockerfile), built and run without a Docker engine (none here or
 * in CI) by test/helpers/dockerfile.ts: every instruction of the real file executed, each stage
 * in a private mount namespace where /src, /pkg, /app and /tmp are that stage's own folders and
 * the rest of the host is read-only. The one deliberate difference: the base image's node and npm
 * are this machine's (Node 20, the major of node:20-bookworm-slim; its npm may be a newer major
 * than the image's npm 10), its npm cache reused through an overlay.
 *
 * Then `docker run` as docs/deploy/README.md tells users: the config file mounted at the path the
 * image's SWITCHYARD_CONFIG names, a contracts folder at /app/contracts (the config saying
 * "../contracts"), read-only, the image read-only too; the gateway is PID 1 of its own PID
 * namespace as uid 10001, on the real broker. Checked: /readyz ready, the user's contract route
 * served from the cache, an SSE snapshot, no TypeScript/tsx/esbuild in the image, and SIGTERM to
 * PID 1 drains the open stream and exits 0. About 2.5 minutes, most of it `npm ci` and tsc.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { containerPid, DockerfileBuild, type Mount } from '../helpers/dockerfile.ts';
import { freePort } from '../helpers/gateway-process.ts';
import { closeKafkaHelpers, createTopic, produce } from '../helpers/kafka.ts';
import { listenServer, type TestServer } from '../helpers/sse-client.ts';
import { oneTableConfig, writeUserRepository } from '../helpers/user-repository.ts';
import { pollForValue } from '../helpers/wait.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOCKERFILE = join(ROOT, 'docs', 'deploy', 'Dockerfile');
const README = readFileSync(join(ROOT, 'docs', 'deploy', 'README.md'), 'utf8');
const ROUTE = '/api/v3/departures.json';
const ADMIN = 'image-admin-token-0123456789abcdef';
const UID = 10001;
const DRAIN_MS = 3000;
const WAIT_MS = 30_000;

/** A row of the user's old endpoint: a departure and its platform. */
interface Departure {
  train: string;
  platform: number;
}

/** What the old endpoint answers (and so what the contract must render): trains by name. */
const departuresBody = (rows: Iterable<Departure>) =>
  JSON.stringify({
    departures: [...rows].sort((a, b) => (a.train < b.train ? -1 : 1)).map((r) => [r.train, r.platform]),
  });

/** The user's contract, in their own folder; imports the package the image installed. */
const CONTRACT = `import { defineContract, z } from 'switchyard/contract';

export default defineContract({
  name: 'departures',
  route: '${ROUTE}',
  version: 1,
  streams: { departures: 'table' },
  cacheControl: 'no-cache',
  volatile: [],
  shape: z.object({ departures: z.array(z.tuple([z.string(), z.number()])) }).strict(),
  render(view) {
    const rows = view.table('departures').map((r) => r.value).filter((v) => typeof v?.train === 'string');
    rows.sort((a, b) => (a.train < b.train ? -1 : 1));
    return { departures: rows.map((r) => [r.train, r.platform]) };
  },
});
`;

/** The `-v host:target[:ro]` mounts of the README's `docker run` example, in its order. */
function documentedMounts(): { file: string; target: string; readOnly: boolean }[] {
  const run = /docker run -p[^\n]*\\\n([^\n]*\\\n)*[^\n]*/.exec(README)?.[0];
  assert.ok(run, 'docs/deploy/README.md shows a `docker run` with mounts');
  return [...run.matchAll(/-v "\$PWD\/([^:"]+):([^:"]+)(:ro)?"/g)].map((m) => ({
    file: m[1]!,
    target: m[2]!,
    readOnly: m[3] === ':ro',
  }));
}

/** Polls `fn` (errors count as not yet) every 100 ms until it gives a value; fails after WAIT_MS. */
const until = <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> =>
  pollForValue(what, fn, { timeoutMs: WAIT_MS, intervalMs: 100, retryErrors: true });

describe('docs/deploy/Dockerfile, built and run as the deploy guide says', { timeout: 600_000 }, () => {
  const build = new DockerfileBuild(DOCKERFILE, ROOT, (l) => {
    if (process.env.SWITCHYARD_IMAGE_LOG === '1') process.stderr.write(`${l}\n`);
  });
  const user = mkdtempSync(join(tmpdir(), 'switchyard-image-user-'));
  const rows = new Map<string, Departure>();
  let backend: TestServer | undefined;
  let container: ChildProcess | null = null;
  let exited: Promise<number | null>;
  let output = '';
  let base: string;

  before(
    async () => {
      await build.build();
      const topic = await createTopic('image-departures', { compacted: true });
      for (const [train, platform] of [
        ['ic-501', 3],
        ['re-7', 1],
        ['s-12', 4],
      ] as const)
        rows.set(train, { train, platform });
      await produce(
        topic,
        [...rows.values()].map((r) => ({ key: r.train, value: JSON.stringify(r) })),
      );
      // The old endpoint, for the route's backend (the route serves from the cache here).
      backend = await listenServer(
        createServer((_req, res) => res.writeHead(200).end(departuresBody(rows.values()))),
      );
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      // The user's repository: the config file and the contracts folder the README mounts.
      writeUserRepository(
        user,
        { 'departures.mjs': CONTRACT },
        {
          ...oneTableConfig({ port, stream: 'departures', topic, adminToken: ADMIN }),
          logLevel: 'info',
          shutdownDrainMs: DRAIN_MS,
          legacyUrl: backend.url,
          legacyRoutes: [{ name: 'departures', path: ROUTE, mode: 'serve' }],
          legacyContracts: ['../contracts'],
        },
      );
    },
    { timeout: 480_000 },
  );

  after(async () => {
    const pid = container?.pid === undefined ? null : containerPid(container.pid);
    if (container && container.exitCode === null && pid !== null) {
      process.kill(pid, 'SIGKILL'); // PID 1 of its namespace: everything in it ends
      await Promise.race([once(container, 'exit'), sleep(5000)]);
    }
    await backend?.close();
    await closeKafkaHelpers();
    build.cleanup();
    rmSync(user, { recursive: true, force: true });
  });

  test('the image: plain node on the built package as uid 10001; no TypeScript, tsx or esbuild', () => {
    const image = build.image;
    assert.deepEqual(image.user, { uid: UID, gid: UID });
    assert.deepEqual(image.expose, ['8080']);
    assert.equal(image.env.NODE_ENV, 'production');
    assert.deepEqual(image.cmd, ['node', '/app/node_modules/switchyard/dist/gateway/main.js']);
    const modules = build.imagePath('/app/node_modules');
    for (const dev of ['typescript', 'tsx', 'esbuild', '@esbuild', '@biomejs'])
      assert.equal(existsSync(join(modules, dev)), false, `${dev} in /app/node_modules`);
    const pkg = join(modules, 'switchyard');
    assert.ok(existsSync(join(pkg, 'dist', 'gateway', 'main.js')));
    const sources = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory()
          ? sources(join(dir, e.name))
          : /\.m?ts$/.test(e.name) && !/\.d\.m?ts$/.test(e.name)
            ? [join(dir, e.name)]
            : [],
      );
    assert.deepEqual(sources(pkg), [], 'TypeScript sources in the installed package');
    assert.deepEqual(readdirSync(build.imagePath('/tmp')), [], 'the tarball is removed from /tmp');
    // The README's mounts are where the image looks: SWITCHYARD_CONFIG, and ../contracts of it.
    const mounts = documentedMounts();
    assert.deepEqual(
      mounts.map((m) => [m.file, m.target, m.readOnly]),
      [
        ['switchyard.config.json', image.env.SWITCHYARD_CONFIG, true],
        ['contracts', join(dirname(image.env.SWITCHYARD_CONFIG ?? '/'), '..', 'contracts'), true],
      ],
    );
    assert.ok(README.includes('"legacyContracts": ["../contracts"]'));
  });

  test('run with the mounted config and contracts: ready, the contract route, SSE, SIGTERM drains', async () => {
    const mounts: Mount[] = documentedMounts().map((m) => ({
      host: join(user, m.file),
      target: m.target,
      readOnly: m.readOnly,
    }));
    const c = build.run({ mounts });
    container = c;
    exited = once(c, 'exit').then(([code]) => code as number | null);
    const keep = (b: Buffer) => {
      output = (output + b.toString()).slice(-30_000);
    };
    c.stdout?.on('data', keep);
    c.stderr?.on('data', keep);
    const started = await until('/readyz 200 from the container', async () => {
      if (c.exitCode !== null) return `exited with ${c.exitCode}`;
      const r = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(5000) });
      return r.status === 200 ? 'ready' : undefined;
    }).catch((err: Error) => err.message);
    assert.equal(started, 'ready', `container output:\n${output}`);

    // PID 1 of its own PID namespace, as uid/gid 10001 with no supplementary groups.
    const pid = containerPid(c.pid!);
    assert.ok(pid !== null, 'the container has a process');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.match(status, new RegExp(`^Uid:\\s+${UID}\\s+${UID}\\s+${UID}\\s+${UID}$`, 'm'));
    assert.match(status, new RegExp(`^Gid:\\s+${UID}\\s+${UID}\\s+${UID}\\s+${UID}$`, 'm'));
    assert.match(status, /^NSpid:\s+\d+\s+1$/m, 'node is PID 1 in the container');
    assert.match(
      readFileSync(`/proc/${pid}/cmdline`, 'utf8'),
      /^node\0\/app\/node_modules\/switchyard\/dist\/gateway\/main\.js\0$/,
    );

    // The user's contract, loaded from the mounted folder, serves its route from the cache.
    const contracts = await fetch(`${base}/v1/admin/contracts`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    }).then((r) => r.json() as Promise<{ contracts: { name: string; file: string }[] }>);
    assert.deepEqual(
      contracts.contracts.map((x) => [x.name, x.file]),
      [['departures', '/app/contracts/departures.mjs']],
    );
    const poll = await until('the route to hold every row', async () => {
      const r = await fetch(`${base}${ROUTE}`);
      const text = await r.text();
      return text === departuresBody(rows.values()) ? r : undefined;
    }).catch((err: Error) => assert.fail(`${err.message}; container output:\n${output}`));
    assert.equal(poll.status, 200);
    assert.equal(poll.headers.get('x-switchyard-source'), 'cache');

    // An SSE stream: its snapshot holds the rows; it stays open until the drain closes it.
    const sse = await fetch(`${base}/v1/stream?streams=departures`);
    assert.equal(sse.status, 200);
    const reader = sse.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (what: RegExp) => {
      while (!what.test(text)) {
        const { value, done } = await reader.read();
        if (done) return false;
        text += decoder.decode(value, { stream: true });
      }
      return true;
    };
    assert.ok(await readUntil(/event: snapshot\n[\s\S]*"ic-501"[\s\S]*\n\n/), text);

    // SIGTERM to PID 1 (Kubernetes' and `docker stop`'s signal): the open stream is told to
    // come back later and closed, and the process exits 0 within the drain window. (/readyz
    // turning 503 at once is test/fault/drain.test.ts's; with one stream the drain is instant.)
    const t0 = Date.now();
    process.kill(pid, 'SIGTERM');
    assert.ok(await readUntil(/event: shutdown\n[^\n]*SHUTTING_DOWN/), text);
    assert.ok(/\nretry: \d+\n/.test(text), 'the closing stream was given a retry');
    assert.equal(await readUntil(/$^/), false, 'the stream ended');
    const code = await Promise.race([exited, sleep(DRAIN_MS + 10_000).then(() => 'still running')]);
    assert.equal(code, 0, `exit code; container output:\n${output}`);
    assert.ok(Date.now() - t0 < DRAIN_MS + 10_000);
    assert.match(output, /"signal":"SIGTERM","msg":"signal received"/);
    assert.match(output, /"msg":"shutdown complete"/);
  });
});
