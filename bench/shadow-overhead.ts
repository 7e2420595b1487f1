/**
 * Shadow-mode overhead: client latency of the legacy route in `shadow` (every request sampled,
 * rendered and compared) against `proxy`, on the demo (`gateway/main.ts` with its in-process
 * reference backend) as a child process, driven by autocannon at a fixed request rate below
 * saturation so the figure is per-request latency, not throughput. Modes alternate over rounds;
 * the medians are compared. Prints a table and exits 1 when shadow/proxy mean latency exceeds
 * the limit. Columns: `compared` comparisons run, `capped` samples over
 * LEGACY_SHADOW_MAX_PER_SECOND, `dropped` samples refused by the full comparison queue.
 *
 *   node --import tsx bench/shadow-overhead.ts [--rate 200] [--duration 8] [--rounds 2]
 *     [--connections 8] [--sample 1] [--max-per-second 20] [--max-ratio 1.25] [--json]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';

/** The part of autocannon 8's API used here (bench/types/autocannon.d.ts lacks rate and mean). */
interface RunStats {
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  average: number;
}
const run = autocannon as unknown as (opts: {
  url: string;
  connections: number;
  duration: number;
  overallRate: number;
}) => Promise<{ requests: RunStats; latency: RunStats; errors: number; timeouts: number; non2xx: number }>;

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ROUTE = '/api/live-map.json';
const TOKEN = 'shadow-bench-admin-token-0123456789';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '8' },
    rounds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '8' },
    sample: { type: 'string', default: '1' },
    'max-per-second': { type: 'string', default: '20' },
    'max-ratio': { type: 'string', default: '1.25' },
    json: { type: 'boolean', default: false },
  },
});
const rate = Number(args.rate);
const durationS = Number(args.duration);
const rounds = Number(args.rounds);
const connections = Number(args.connections);
const sample = Number(args.sample);
const maxRatio = Number(args['max-ratio']);

interface Row {
  mode: 'proxy' | 'shadow';
  round: number;
  reqPerSec: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  errors: number;
  compared: number;
  dropped: number;
  capped: number;
}

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const addr = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return typeof addr === 'object' && addr ? addr.port : 0;
}

async function http(url: string, init: RequestInit = {}): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...init.headers },
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json };
}

async function waitFor(what: string, probe: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function shadowTotals(base: string): Promise<{ compared: number; dropped: number; capped: number }> {
  const { json } = await http(`${base}/v1/admin/shadow?limit=0`);
  const s = (json as { routes: Record<string, Record<string, number> & { skipped: Record<string, number> }> })
    .routes['live-map']!;
  return {
    compared: s.match! + s.structural! + s.drift! + s.legacy_error! + s.render_error!,
    dropped: s.skipped.queue_full!,
    capped: s.skipped.rate_limited!,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<number> {
  const port = await freePort();
  const legacyPort = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // The pure demo: drop anything from the caller's environment that would change it.
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['KAFKA_BROKERS', 'STREAMS', 'LEGACY_URL', 'LEGACY_ROUTES', 'NODE_TEST_CONTEXT'])
    delete env[k];
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'gateway/main.ts'], {
    cwd: ROOT,
    env: {
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LEGACY_DEMO_PORT: String(legacyPort),
      ADMIN_TOKEN: TOKEN,
      LOG_LEVEL: 'warn',
      // One client address sends everything: the per-IP rate limit would measure itself.
      RATE_LIMIT_PER_SECOND: '0',
      LEGACY_SHADOW_MAX_PER_SECOND: String(args['max-per-second']),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitFor('the gateway', async () => (await fetch(`${base}/readyz`)).status === 200);
    await waitFor('the legacy backend', async () => (await fetch(`${base}${ROUTE}`)).status === 200);
    const rows: Row[] = [];
    for (let round = 1; round <= rounds; round++) {
      for (const mode of ['proxy', 'shadow'] as const) {
        const put = await http(`${base}/v1/admin/routes/live-map`, {
          method: 'PUT',
          body: JSON.stringify(mode === 'shadow' ? { mode, sampleRate: sample } : { mode }),
        });
        if (put.status !== 200)
          throw new Error(`PUT mode ${mode}: ${put.status} ${JSON.stringify(put.json)}`);
        // Warm-up (connections, JIT), not measured.
        await run({ url: `${base}${ROUTE}`, connections, duration: 1, overallRate: rate });
        const before = await shadowTotals(base);
        const r = await run({
          url: `${base}${ROUTE}`,
          connections,
          duration: durationS,
          overallRate: rate,
        });
        const after = await shadowTotals(base);
        rows.push({
          mode,
          round,
          reqPerSec: r.requests.average,
          meanMs: r.latency.mean,
          p50Ms: r.latency.p50,
          p90Ms: r.latency.p90,
          p99Ms: r.latency.p99,
          errors: r.errors + r.timeouts + r.non2xx,
          compared: after.compared - before.compared,
          dropped: after.dropped - before.dropped,
          capped: after.capped - before.capped,
        });
      }
    }
    const of = (mode: Row['mode'], k: keyof Row) =>
      median(rows.filter((r) => r.mode === mode).map((r) => r[k] as number));
    const ratio = {
      mean: of('shadow', 'meanMs') / of('proxy', 'meanMs'),
      p50: of('shadow', 'p50Ms') / of('proxy', 'p50Ms'),
      p99: of('shadow', 'p99Ms') / of('proxy', 'p99Ms'),
    };
    const ok =
      ratio.mean <= maxRatio && rows.every((r) => r.errors === 0) && rows.some((r) => r.compared > 0);
    if (args.json) {
      process.stdout.write(
        `${JSON.stringify({ rate, durationS, connections, sample, maxRatio, rows, ratio, ok })}\n`,
      );
    } else {
      const f = (n: number, d = 2) => n.toFixed(d).padStart(8);
      const lines = [
        `shadow overhead: ${rate} req/s over ${connections} connections, ${durationS} s per run, ${rounds} rounds, shadow sample ${sample}, at most ${args['max-per-second']} comparisons/s`,
        '',
        'mode    round   req/s  mean ms   p50 ms   p90 ms   p99 ms  errors  compared  capped  dropped',
        ...rows.map(
          (r) =>
            `${r.mode.padEnd(7)} ${String(r.round).padStart(5)} ${f(r.reqPerSec, 0)} ${f(r.meanMs)} ${f(r.p50Ms)} ${f(r.p90Ms)} ${f(r.p99Ms)} ${String(r.errors).padStart(7)} ${String(r.compared).padStart(9)} ${String(r.capped).padStart(7)} ${String(r.dropped).padStart(8)}`,
        ),
        '',
        `shadow/proxy (medians): mean ${ratio.mean.toFixed(3)} (limit ${maxRatio}), p50 ${ratio.p50.toFixed(3)}, p99 ${ratio.p99.toFixed(3)}`,
        `mean difference: ${(of('shadow', 'meanMs') - of('proxy', 'meanMs')).toFixed(2)} ms`,
        ok ? 'PASS' : 'FAIL: shadow adds more latency than allowed, errors occurred, or nothing was compared',
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return ok ? 0 : 1;
  } finally {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`shadow-overhead failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(2);
  },
);
