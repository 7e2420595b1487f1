/**
 * The `/healthz` prober of the hostile suite, run as a process of its own so that what the test
 * process does (building and writing a flood) never delays a probe. Every `everyMs` it asks the
 * gateway's `/healthz` and the noise control's `/` at the same moment, each on a keep-alive
 * connection of its own, and keeps the slowest answer of each, in wall-clock time and in the CPU
 * time the gateway's main thread (its event loop) ran while the probe waited. Started by
 * harness.ts with the two ports and the gateway's pid as arguments; on an IPC `stop` it replies
 * with its figures and exits.
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

const [gwPort, controlPort, gwPid] = process.argv.slice(2).map(Number);
const everyMs = 25;
const figures = { maxMs: 0, maxCpuMs: 0, controlMaxMs: 0, samples: 0, failures: [] as string[] };
let running = true;

/** Linux's USER_HZ: /proc counts CPU time in ticks of 10 ms. */
const MS_PER_TICK = 10;

/**
 * CPU time (user + system, ms) of the gateway's main thread: the thread whose pid is the
 * process's (/proc/<pid>/task/<pid>/stat, fields 14 and 15), so GC and libuv helper threads do
 * not count. While a probe waits, this is the event-loop time spent ahead of it (and just after).
 */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/${gwPid}/task/${gwPid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), field 3 first.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * MS_PER_TICK;
}

function ask(agent: Agent, port: number, path: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request({ port, host: '127.0.0.1', path, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) figures.failures.push(`${path} answered ${res.statusCode}`);
        resolve(performance.now() - t0);
      });
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${path} timed out (5 s)`)));
    req.on('error', (err) => {
      figures.failures.push(String(err));
      resolve(performance.now() - t0);
    });
    req.end();
  });
}

async function loop(): Promise<void> {
  const gwAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const controlAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  while (running) {
    const cpu0 = mainThreadCpuMs();
    const [gw, control] = await Promise.all([
      ask(gwAgent, gwPort!, '/healthz'),
      ask(controlAgent, controlPort!, '/'),
    ]);
    figures.maxCpuMs = Math.max(figures.maxCpuMs, mainThreadCpuMs() - cpu0);
    figures.maxMs = Math.max(figures.maxMs, gw);
    figures.controlMaxMs = Math.max(figures.controlMaxMs, control);
    figures.samples++;
    await sleep(everyMs);
  }
  gwAgent.destroy();
  controlAgent.destroy();
}

const done = loop();
process.on('message', async () => {
  // At least ~1 s of samples: the noise control's worst case needs a few dozen to mean much.
  while (figures.samples < 30 && figures.failures.length === 0) await sleep(everyMs);
  running = false;
  await done;
  process.send?.(figures, () => process.exit(0));
});
process.send?.('ready');
