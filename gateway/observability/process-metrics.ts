import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * prom-client's event-loop family. The gateway exports its own `switchyard_event_loop_lag_seconds`
 * (the mean delay the overload guard sheds on, gateway/overload/loop-lag.ts); a second monitor
 * over other windows would show a number that disagrees with the one that sheds work.
 */
const DUPLICATE_LOOP_LAG = [
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
] as const;

/**
 * Registers the process metrics (CPU, memory, file descriptors, heap, GC) under prom-client's
 * standard names, unprefixed: `process_cpu_seconds_total`, `process_resident_memory_bytes`,
 * `nodejs_heap_size_used_bytes`... These are the names every Prometheus client library and every
 * stock Node.js dashboard and alert uses; `job`/`instance` already say which service they are.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of DUPLICATE_LOOP_LAG) registry.removeSingleMetric(name);
}
