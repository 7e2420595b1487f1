/**
 * Start-up time and idle memory of the gateway: the built package (`node dist/gateway/main.js`,
 * what `npx switchyard` and the image run) against the TypeScript sources through tsx (how
 * production ran before issue 14). Both on the embedded demo feed, one process (WORKERS=1).
 *
 *   npm run build && node --import tsx bench/startup.ts [--rounds 5]
 *
 * Start-up: spawn to the first 200 from /healthz (the code loaded, the server listening) and
 * from /readyz (the demo feed bootstrapped), polled every 5 ms. Idle memory: RSS and heap
 * of the process 3 s after ready, with no client (VmRSS from /proc; heap from /metrics).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../test/helpers/gateway-process.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(values.rounds);

const VARIANTS: { name: string; args: string[] }[] = [
  { name: 'built package: node dist/gateway/main.js', args: [join(ROOT, 'dist', 'gateway', 'main.js')] },
  {
    name: 'sources via tsx: node --import tsx gateway/main.ts',
    args: ['--import', 'tsx', join(ROOT, 'gateway', 'main.ts')],
  },
];

interface Sample {
  /** Spawn to the first answer of /healthz: loading and compiling the code, listening. */
  upMs: number;
  readyMs: number;
  /** CPU time (user + system) the process used up to ready: what load on the machine does not inflate. */
  cpuMs: number;
  rssMiB: number;
  heapMiB: number;
}

async function once(args: string[]): Promise<Sample> {
  const port = await freePort();
  const demoPort = await freePort();
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      HOST: '127.0.0.1',
      LEGACY_DEMO_PORT: String(demoPort),
      LOG_LEVEL: 'warn',
      WORKERS: '1',
    },
    stdio: 'ignore',
  });
  const poll = async (path: string) => {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`);
      const ok = await fetch(`http://127.0.0.1:${port}${path}`)
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return performance.now() - started;
      await sleep(5);
    }
  };
  try {
    const upMs = await poll('/healthz');
    const readyMs = await poll('/readyz');
    const cpuMs = cpuTimeMs(child.pid!);
    await sleep(3000);
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const heap = Number(/^nodejs_heap_size_used_bytes (\S+)/m.exec(metrics)?.[1] ?? Number.NaN);
    return { upMs, readyMs, cpuMs, rssMiB: rssKb / 1024, heapMiB: heap / 1024 / 1024 };
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

/** utime + stime of a process from /proc/<pid>/stat (fields 14 and 15, in clock ticks of 10 ms). */
function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

if (!existsSync(join(ROOT, 'dist', 'gateway', 'main.js'))) {
  process.stderr.write('dist/ is missing: run `npm run build` first\n');
  process.exit(2);
}
const rows: string[] = [];
for (const v of VARIANTS) {
  const samples: Sample[] = [];
  await once(v.args); // warm-up: the OS file cache, and tsx's compile cache for the tsx variant
  for (let i = 0; i < rounds; i++) samples.push(await once(v.args));
  const f = (k: keyof Sample, d = 0) => median(samples.map((s) => s[k])).toFixed(d);
  const range = `${Math.min(...samples.map((s) => s.readyMs)).toFixed(0)}-${Math.max(...samples.map((s) => s.readyMs)).toFixed(0)}`;
  rows.push(
    `| ${v.name} | ${f('cpuMs')} | ${f('upMs')} | ${f('readyMs')} (${range}) | ${f('rssMiB', 1)} | ${f('heapMiB', 1)} |`,
  );
}
process.stdout.write(
  [
    `Median of ${rounds} runs after one warm-up (embedded demo feed, WORKERS=1):`,
    '',
    '| variant | CPU to ready, ms | start to /healthz, ms | start to ready, ms (min-max) | idle RSS, MiB | idle heap used, MiB |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);
