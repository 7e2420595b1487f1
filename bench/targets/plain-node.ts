import { openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnTracked, stopChild, waitForHttp } from '../lib/children.ts';
import { httpPublishedSystem } from './http-published.ts';
import { SWITCHYARD_ROOT } from './switchyard.ts';
import type { RunningSystem } from './types.ts';

/** Starts bench/baselines/plain-node.ts on a free loopback port. */
export async function startPlainNode(o: {
  dir: string;
  phase: string;
  /** A file to serve as `GET /static` (the polling baseline); `<file>.gz` must exist too. */
  staticFile?: string;
}): Promise<RunningSystem> {
  const port = await freePort();
  const log = openSync(join(o.dir, `plain-node-${o.phase}.log`), 'a');
  const child = spawnTracked(process.execPath, ['--import', 'tsx', 'bench/baselines/plain-node.ts'], {
    cwd: SWITCHYARD_ROOT,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      ...(o.staticFile ? { STATIC_FILE: o.staticFile } : {}),
    },
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/healthz`, 30_000, alive);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
  return httpPublishedSystem({ name: 'plain-node', label: 'plain-node', port, child, alive });
}
