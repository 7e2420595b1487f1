/**
 * A long-running service process (the test broker, the Schema Registry) started detached in its
 * own process group, so it outlives the script that started it and is stopped as a unit.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { notFoundMessage } from './run-command.ts';

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether `pid` runs and (with procfs) its command line holds `marker`, so a recycled pid is never
 * mistaken for (and signalled as) the service. Without procfs (macOS) the pid is trusted.
 */
export function isOwnProcess(pid: number, marker: string): boolean {
  if (!isPidAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return !existsSync('/proc/self');
  }
}

/** A started process: its pid, and how it ended (`exit code 1`, `signal SIGKILL`...) once it has. */
export interface Detached {
  pid: number;
  exited(): string | undefined;
}

/**
 * Starts `cmd args` in `cwd` as the leader of its own process group, stdout and stderr appended
 * to `logFile`, not waited for by this process.
 * @throws if it could not be started (`what` names it in the message)
 */
export async function spawnDetached(
  what: string,
  cmd: string,
  args: string[],
  opts: { cwd: string; logFile: string },
): Promise<Detached> {
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(cmd, args, { cwd: opts.cwd, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = signal ? `signal ${signal}` : `exit code ${code}`;
  });
  child.once('error', (error: NodeJS.ErrnoException) => {
    exit = error.code === 'ENOENT' ? notFoundMessage(cmd) : error.message;
  });
  child.unref();
  if (child.pid === undefined) {
    await sleep(0); // the spawn error event comes on the next tick
    throw new Error(`could not start ${what}: ${exit ?? 'unknown error'}`);
  }
  return { pid: child.pid, exited: () => exit };
}

/**
 * Polls `ready` every `intervalMs` until it answers true. Throws `failure({ exit })` if the process
 * ends first (`exited` says how), `failure({})` after `timeoutMs`.
 */
export async function waitForStartup(opts: {
  timeoutMs: number;
  intervalMs: number;
  exited: () => string | undefined;
  ready: () => Promise<boolean>;
  failure: (why: { exit?: string }) => Error;
}): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (Date.now() < deadline) {
    const exit = opts.exited();
    if (exit !== undefined) throw opts.failure({ exit });
    if (await opts.ready()) return;
    await sleep(opts.intervalMs);
  }
  throw opts.failure({});
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function waitForExit(alive: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) return true;
    await sleep(100);
  }
  return !alive();
}

/**
 * Stops the process group led by `pid`: SIGTERM (a clean shutdown), SIGKILL after `graceMs`.
 * Does nothing if `alive()` already says it is gone.
 * @throws if it still runs 5 s after SIGKILL (`what` names it)
 */
export async function stopProcessGroup(
  what: string,
  pid: number,
  alive: () => boolean,
  graceMs = 10_000,
): Promise<void> {
  if (!alive()) return;
  signalGroup(pid, 'SIGTERM');
  if (await waitForExit(alive, graceMs)) return;
  signalGroup(pid, 'SIGKILL');
  if (!(await waitForExit(alive, 5_000))) throw new Error(`${what} pid ${pid} survived SIGKILL`);
}
