/**
 * A gateway on a MemorySource with a settable clock, listening on 127.0.0.1, for the metrics
 * tests; torn down on `t.after`. Plus a parser of the Prometheus text exposition.
 */
import { request } from 'node:http';
import type { Config } from '../../gateway/config/load.ts';
import type { GatewayContext } from '../../gateway/context.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { MemorySource } from '../../gateway/source/memory-source.ts';
import { createGateway, loadConfig, startGateway } from '../../gateway/switchyard.ts';
import { serveGateway } from '../helpers/served-gateway.ts';
import type { Teardown, TestServer } from '../helpers/sse-client.ts';

export const ORDERS = 'topic.orders';
export const TOTALS = 'topic.totals';

export interface MetricsFixture {
  config: Config;
  ctx: GatewayContext;
  source: MemorySource;
  server: TestServer;
  url: string;
  /** The gateway's clock: read and set by the test. */
  clock: { now: number };
  /** Resolves once the cache has applied `n` updates in total (event-driven, via the hub). */
  applied(n: number): Promise<void>;
}

export async function metricsFixture(t: Teardown, env: Record<string, string> = {}): Promise<MetricsFixture> {
  const clock = { now: 1_800_000_000_000 };
  const now = () => clock.now;
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    STREAMS: `orders:feed:${ORDERS},totals:table:${TOTALS}`,
    POLL_INTERVAL_MS: '10000',
    ...env,
  });
  const source = new MemorySource({ streams: config.streams, now });
  const ctx = createGateway(config, { source, now, metrics: new GatewayMetrics({ defaultMetrics: false }) });
  const { server } = await serveGateway(t, ctx);
  await startGateway(ctx);
  return {
    config,
    ctx,
    source,
    server,
    url: server.url,
    clock,
    async applied(n) {
      const ok = await ctx.hub.waitUntil(() => ctx.cache.sequence >= n, 5000);
      if (!ok) throw new Error(`only ${ctx.cache.sequence} of ${n} updates applied`);
    },
  };
}

/** One GET on a fresh connection (or the given agent); status, headers and body text. */
export function get(
  url: string,
  headers: Record<string, string> = {},
  agent: import('node:http').Agent | false = false,
): Promise<{ status: number; headers: import('node:http').IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format: HELP/TYPE per family, and every sample line. */
export function parseExposition(text: string): {
  types: Map<string, string>;
  help: Map<string, string>;
  samples: Sample[];
} {
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'TYPE' ? types : help).set(meta[2]!, meta[3]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, help, samples };
}

/** A histogram's `_count` and `_sum` for the given labels, from the registry (no HTTP). */
export async function histogram(
  ctx: GatewayContext,
  name: 'deliveryLatency' | 'ingestLatency' | 'clientLatency',
  labels: Record<string, string>,
): Promise<{ count: number; sum: number }> {
  const { values } = await ctx.metrics[name].get();
  const match = (v: { labels: Record<string, string | number> }) =>
    Object.entries(labels).every(([k, val]) => v.labels[k] === val);
  const pick = (suffix: string) =>
    values
      .filter(
        (v) => v.metricName?.endsWith(suffix) && match(v as { labels: Record<string, string | number> }),
      )
      .reduce((s, v) => s + v.value, 0);
  return { count: pick('_count'), sum: pick('_sum') };
}
