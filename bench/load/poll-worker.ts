/**
 * One autocannon run in its own process (forked by poll-load.ts), so the polling client does
 * not share an event loop with the controller. Argument: the JSON of a PollSpec; output: one
 * JSON line on IPC.
 */
import autocannon from 'autocannon';
import type { PollResult, PollSpec } from './poll-load.ts';

const spec = JSON.parse(process.argv[2] ?? '{}') as PollSpec;
const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.durationS,
  headers: spec.headers,
  pipelining: 1,
  ...(spec.overallRate ? { overallRate: spec.overallRate } : {}),
});
const out: PollResult = {
  requestsPerSec: result.requests.average,
  requests: result.requests.total,
  bytesPerSec: result.throughput.average,
  latencyP50Ms: result.latency.p50,
  latencyP99Ms: result.latency.p99,
  status2xx: result['2xx'],
  status3xx: result['3xx'],
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
};
process.send?.(out, () => process.exit(0));
