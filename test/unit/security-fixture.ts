/**
 * A whole gateway (createGateway + createApp on a MemorySource) served the way main.ts serves it
 * (maxHeaderSize + hardenServer), with its logs captured, for the security tests. Also a raw
 * HTTP client that can bind a local address (per-IP tests use 127.0.0.2 vs 127.0.0.3).
 */
import { once } from 'node:events';
import { type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http';
import { Writable } from 'node:stream';
import type { Router } from 'express';
import { CONTRACTS } from '../../compat/contracts/index.ts';
import type { Config } from '../../gateway/config/load.ts';
import type { GatewayContext } from '../../gateway/context.ts';
import { createApp } from '../../gateway/http/app.ts';
import type { Interceptor } from '../../gateway/http/pipeline.ts';
import { createHttpServer } from '../../gateway/http/server.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { MemorySource } from '../../gateway/source/memory-source.ts';
import { createGateway, loadConfig, startGateway, stopGateway } from '../../gateway/switchyard.ts';
import { listenServer, type Teardown, WAIT_GUARD_MS } from '../helpers/sse-client.ts';

export const SECURE_STREAMS = 'orders:feed:topic.orders,totals:table:topic.totals';
export const TOKEN_SECRET = 'security-test-secret-0123456789-abcdef';
export const ADMIN = 'admin-write-token-0123456789';
export const ADMIN_READ = 'admin-read-token-0123456789';

export interface SecureGateway {
  readonly config: Config;
  readonly ctx: GatewayContext;
  readonly source: MemorySource;
  readonly url: string;
  readonly port: number;
  /** Every log line written so far (JSON text). */
  readonly logs: string[];
}

export interface SecureOptions {
  env?: Record<string, string>;
  now?: () => number;
  random?: () => number;
  routers?: Router[];
  /** Checks added to the request pipeline after the gateway's own (createApp). */
  interceptors?: Interceptor[];
  seed?: (source: MemorySource) => void;
}

export async function startSecureGateway(t: Teardown, opts: SecureOptions = {}): Promise<SecureGateway> {
  const config = loadConfig({ LOG_LEVEL: 'debug', STREAMS: SECURE_STREAMS, ...opts.env });
  const source = new MemorySource({ streams: config.streams, ...(opts.now ? { now: opts.now } : {}) });
  opts.seed?.(source);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const ctx = createGateway(config, {
    source,
    legacyContracts: CONTRACTS,
    logger: createLogger(config.logLevel, sink),
    metrics: new GatewayMetrics({ defaultMetrics: false }),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.random ? { random: opts.random } : {}),
  });
  const app = createApp(ctx, { routers: opts.routers ?? [], interceptors: opts.interceptors ?? [] });
  const server = createHttpServer(app, { maxHeaderBytes: config.security.maxHeaderBytes });
  const listening = await listenServer(server);
  t.after(async () => {
    await listening.close();
    await stopGateway(ctx);
  });
  await startGateway(ctx);
  return { config, ctx, source, url: listening.url, port: listening.port, logs };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: arbitrary JSON read back from the wire
  json: any;
}

export interface SendOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Local address to connect from (e.g. 127.0.0.2). */
  localAddress?: string;
  /** For 200 event streams: resolve after the headers and drop the connection. */
  headersOnly?: boolean;
}

/** One request on a fresh connection; reads the whole body unless `headersOnly`. */
export async function send(url: string, opts: SendOptions = {}): Promise<Reply> {
  const req = request(url, {
    method: opts.method ?? 'GET',
    headers: opts.headers ?? {},
    agent: false,
    ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
  });
  req.end(opts.body);
  const timer = setTimeout(
    () => req.destroy(new Error(`no response from ${url.slice(0, 200)}`)),
    WAIT_GUARD_MS,
  );
  try {
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    if (opts.headersOnly && res.statusCode === 200) {
      res.destroy();
      return { status: 200, headers: res.headers, text: '', json: undefined };
    }
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode ?? 0, headers: res.headers, text, json };
  } finally {
    clearTimeout(timer);
  }
}
