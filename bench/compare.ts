/**
 * `npx switchyard compare --url http://host:port --clients N --duration 60s [--streams a,b] [--json]`
 *
 * Opens N polling clients (each at the gateway's advertised interval, staggered over the first
 * interval, with If-None-Match) and N SSE clients against any Switchyard gateway, and reports
 * delivery latency per transport (record creation -> arrival at the client, for each update
 * each client sees; for polling, each new item in a poll response counts, arriving with the
 * response), delivered vs expected updates, and the ratio between the two. Works on the demo
 * feed or on Kafka: it only speaks the public endpoints. docs/observability.md describes it.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ClockSync, get, Poller, StreamClient } from './compare/clients.ts';
import {
  type CompareResult,
  Deliveries,
  formatTable,
  ratio,
  summarise,
  type Transport,
} from './compare/report.ts';

export interface CompareOptions {
  url: URL;
  clients: number;
  durationMs: number;
  /** `?streams=` value; null: every stream the gateway serves. */
  streams: string | null;
  json: boolean;
  /** Poll interval override (ms); null: the gateway's X-Poll-Interval-Ms. */
  intervalMs: number | null;
}

export const USAGE = `Usage: switchyard compare --url <gateway URL> [options]

Opens N polling and N SSE clients against a Switchyard gateway and prints delivery latency
(record creation -> arrival) per transport, delivered vs expected updates, and their ratio.

Options:
  --url <url>          the gateway, e.g. http://127.0.0.1:8080 (required)
  --clients <n>        clients per transport (default 10)
  --duration <time>    how long to measure: 60s, 2m, 500ms, or seconds (default 60s)
  --streams <a,b>      streams to subscribe to (default: all the gateway serves)
  --interval <time>    poll interval (default: the gateway's advertised X-Poll-Interval-Ms)
  --json               print the result as JSON
  --help               this text
`;

/** Thrown for bad arguments: the message is for the user, with USAGE. */
export class UsageError extends Error {}

/** "60s" / "2m" / "500ms" / "90" (seconds) -> ms. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`not a duration: "${text}" (use e.g. 60s, 2m, 500ms)`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms <= 0 || ms > 24 * 3600_000) throw new UsageError(`duration out of range: "${text}"`);
  return Math.round(ms);
}

export function parseOptions(argv: readonly string[]): CompareOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string' },
      clients: { type: 'string' },
      duration: { type: 'string' },
      streams: { type: 'string' },
      interval: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return 'help';
  if (!values.url) throw new UsageError('--url is required');
  let url: URL;
  try {
    url = new URL(values.url);
  } catch {
    throw new UsageError(`not a URL: "${values.url}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError('--url must be http(s)');
  const clients = Number(values.clients ?? '10');
  if (!Number.isInteger(clients) || clients < 1 || clients > 10_000)
    throw new UsageError('--clients must be an integer from 1 to 10000');
  const streams = values.streams?.trim() || null;
  if (streams !== null && !/^[a-z][a-z0-9_]*(,[a-z][a-z0-9_]*)*$/.test(streams))
    throw new UsageError('--streams must be a comma-separated list of stream names');
  return {
    url,
    clients,
    durationMs: parseDuration(values.duration ?? '60s'),
    streams,
    json: values.json ?? false,
    intervalMs: values.interval === undefined ? null : parseDuration(values.interval),
  };
}

function endpoint(base: URL, path: string, streams: string | null): URL {
  const u = new URL(path, base);
  if (streams) u.searchParams.set('streams', streams);
  return u;
}

/** Runs the comparison and returns its result; `progress` gets a line now and then (stderr). */
export async function runCompare(
  opts: CompareOptions,
  progress: (line: string) => void = () => {},
): Promise<CompareResult> {
  const snapshotUrl = endpoint(opts.url, '/v1/snapshot', opts.streams);
  const streamUrl = endpoint(opts.url, '/v1/stream', opts.streams);
  const clock = new ClockSync();
  // One probe: the gateway answers, the streams exist, and it tells its poll interval.
  const probe = await get(snapshotUrl, { accept: 'application/json' }, false).catch((err: Error) => {
    throw new Error(`cannot reach ${snapshotUrl.href}: ${err.message}`);
  });
  if (probe.status !== 200)
    throw new Error(
      `${snapshotUrl.href} answered ${probe.status}: ${probe.body.toString('utf8').slice(0, 300)}`,
    );
  clock.sample(Number(probe.headers['x-server-time']), probe.sentAt, probe.receivedAt);
  const advertised = Number(probe.headers['x-poll-interval-ms']);
  const intervalMs = opts.intervalMs ?? (Number.isFinite(advertised) && advertised > 0 ? advertised : 10_000);

  const sink = new Deliveries();
  const streams = Array.from({ length: opts.clients }, () => new StreamClient(streamUrl, sink, clock));
  const pollers = Array.from(
    { length: opts.clients },
    () => new Poller(snapshotUrl, intervalMs, sink, clock),
  );
  const started = Date.now();
  for (const s of streams) s.start();
  // Staggered over one interval, as real users arrive: not all polls land on the same tick.
  for (const [i, p] of pollers.entries()) p.start((i * intervalMs) / opts.clients);
  progress(
    `comparing ${opts.clients} polling + ${opts.clients} SSE clients on ${opts.url.origin} for ${opts.durationMs / 1000} s ` +
      `(poll interval ${intervalMs / 1000} s)...`,
  );
  await new Promise((resolve) => setTimeout(resolve, opts.durationMs));
  const ended = Date.now();
  for (const c of [...streams, ...pollers]) c.stop();

  const clients: Record<Transport, number> = {
    poll: pollers.filter((p) => p.ready).length,
    sse: streams.filter((s) => s.ready).length,
  };
  // Updates every client had the time to receive: after every poller's first (baseline) poll,
  // and at least one interval (plus a second of slack) before the end.
  const from = started + intervalMs + 500;
  const to = ended - intervalMs - 1000;
  const coverage =
    to > from
      ? sink.coverage(from + clock.offsetMs, to + clock.offsetMs, clients)
      : { updates: 0, delivered: { poll: 0, sse: 0 }, expected: { poll: 0, sse: 0 } };
  const per = (t: Transport) => ({
    ...summarise(sink.latencies[t]),
    clients: clients[t],
    delivered: coverage.delivered[t],
    expected: coverage.expected[t],
    bytes: sink.bytes[t],
    errors: sink.errors[t],
    reconnects: sink.reconnects[t],
  });
  const poll = per('poll');
  const sse = per('sse');
  return {
    url: opts.url.origin,
    streams: opts.streams,
    clients: opts.clients,
    durationMs: ended - started,
    pollIntervalMs: intervalMs,
    clockOffsetMs: clock.offsetMs,
    window: {
      fromMs: Math.max(0, from - started),
      toMs: Math.max(0, to - started),
      updates: coverage.updates,
    },
    transports: { poll, sse },
    ratio: {
      p50: ratio(poll.p50Ms, sse.p50Ms),
      p95: ratio(poll.p95Ms, sse.p95Ms),
      p99: ratio(poll.p99Ms, sse.p99Ms),
      max: ratio(poll.maxMs, sse.maxMs),
    },
  };
}

async function main(argv: readonly string[]): Promise<number> {
  let opts: CompareOptions | 'help';
  try {
    opts = parseOptions(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    const result = await runCompare(opts, (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : formatTable(result));
    return 0;
  } catch (err) {
    process.stderr.write(`switchyard compare: ${(err as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
