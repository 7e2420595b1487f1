import cluster, { type Worker } from 'node:cluster';
import type { Config } from './config/load.ts';
import { servePrimary } from './fleet/cluster-ipc.ts';
import { WORKER_INDEX_ENV } from './fleet/index.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { backoffCeiling } from './util/backoff.ts';

/** After the drain window, workers still running get this long before SIGKILL. */
const KILL_GRACE_MS = 5000;
/** A worker that dies sooner than this after its start counts as crash-looping. */
const STABLE_AFTER_MS = 10_000;
const MAX_RESPAWN_DELAY_MS = 30_000;

/** Whether this process should be the cluster primary (WORKERS > 1 and not already a worker). */
export function isClusterPrimary(config: Config): boolean {
  return config.workers > 1 && cluster.isPrimary;
}

/**
 * The primary of `--workers N`: forks N workers that share the port (node:cluster hands new
 * connections to them in turn), each a whole gateway with its own Kafka consumer and cache, so
 * any of them can serve any client and resume any event id. The primary holds no gateway and
 * serves nothing itself. It respawns a worker that dies unexpectedly (with backoff if it keeps
 * dying), forwards SIGTERM/SIGINT to every worker, and exits once all of them have, SIGKILLing
 * stragglers after the drain window plus a grace period. It also relays the embedded demo's
 * fleet state between workers and sums their figures for /metrics (gateway/fleet/cluster-ipc.ts).
 */
export function runPrimary(config: Config, logger: Logger = createLogger(config.logLevel)): void {
  const log = logger.child({ component: 'cluster' });
  let stopping = false;
  let crashes = 0;
  const startedAt = new Map<Worker, number>();
  // Each worker keeps its index (1..N) across respawns: it names the worker in the fleet view.
  const indexOf = new Map<Worker, number>();

  const fork = (index: number): void => {
    if (stopping) return;
    const w = cluster.fork({ [WORKER_INDEX_ENV]: String(index) });
    startedAt.set(w, Date.now());
    indexOf.set(w, index);
  };

  // The demo's control log and the instance's figures live here (gateway/fleet/cluster-ipc.ts).
  servePrimary();

  cluster.on('exit', (w, code, signal) => {
    const lived = Date.now() - (startedAt.get(w) ?? 0);
    const index = indexOf.get(w) ?? 1;
    startedAt.delete(w);
    indexOf.delete(w);
    // A setting to fix (port in use...): the worker said why in one line; respawning cannot help.
    if (!stopping && code === 2) {
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      process.exit(2);
    }
    if (stopping) {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        log.info('all workers exited');
        process.exit(0);
      }
      return;
    }
    crashes = lived < STABLE_AFTER_MS ? crashes + 1 : 0;
    const delay = crashes === 0 ? 0 : backoffCeiling(crashes - 1, 500, MAX_RESPAWN_DELAY_MS);
    log.error({ pid: w.process.pid, code, signal, delayMs: delay }, 'worker died; starting another');
    setTimeout(() => fork(index), delay);
  });

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    log.info({ signal, workers: workers.length }, 'stopping workers');
    if (workers.length === 0) process.exit(0);
    for (const w of workers) w.process.kill('SIGTERM');
    setTimeout(() => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      process.exit(1);
    }, config.shutdownDrainMs + KILL_GRACE_MS).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  log.info({ workers: config.workers, port: config.port }, 'starting workers');
  for (let i = 1; i <= config.workers; i++) fork(i);
}
