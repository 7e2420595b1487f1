import { cpuSeconds, processTree } from '../lib/proc.ts';
import { runPoll } from '../load/poll-load.ts';

const [port, pid] = process.argv.slice(2).map(Number) as [number, number];
const url = `http://127.0.0.1:${port}/v1/snapshot?streams=orders`;
const et = (await fetch(url)).headers.get('etag')!;
for (const [name, h] of [
  ['304', { 'if-none-match': et }],
  ['full', {}],
  ['healthz', {}],
] as const) {
  const pids = processTree(pid);
  const idle0 = cpuSeconds(pids);
  await new Promise((r) => setTimeout(r, 2000));
  const idle = (cpuSeconds(pids) - idle0) / 2;
  const c0 = cpuSeconds(pids);
  const r = await runPoll({
    url: name === 'healthz' ? `http://127.0.0.1:${port}/healthz` : url,
    connections: 50,
    durationS: 4,
    headers: h as Record<string, string>,
  }).result;
  const c = cpuSeconds(pids) - c0;
  console.log(
    name,
    Math.round(r.requestsPerSec),
    'req/s',
    ((c * 1e6) / r.requests).toFixed(0),
    'us/req',
    'idle cpu',
    (idle * 100).toFixed(0) + '%',
    'status ok',
    r.status2xx + r.status3xx,
    '/',
    r.requests,
  );
}
