import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER = fileURLToPath(new URL('./poll-worker.ts', import.meta.url));

export interface PollSpec {
  url: string;
  connections: number;
  durationS: number;
  headers: Record<string, string>;
  /** Requests per second over all connections (autocannon's overallRate); default: as fast as answered. */
  overallRate?: number;
}

export interface PollResult {
  requestsPerSec: number;
  requests: number;
  bytesPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  status2xx: number;
  status3xx: number;
  non2xx: number;
  errors: number;
}

/** Runs autocannon in a child process; `onStart` fires once it is forked (to start CPU accounting). */
export function runPoll(spec: PollSpec): { pid: number; result: Promise<PollResult> } {
  const child = fork(WORKER, [JSON.stringify(spec)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const result = new Promise<PollResult>((resolve, reject) => {
    child.once('message', (m) => resolve(m as PollResult));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`autocannon exited with ${code} before reporting`)));
  });
  return { pid: child.pid!, result };
}
