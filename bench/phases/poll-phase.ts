import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { type RunContext, sleep, startSystem } from '../lib/context.ts';
import { cpuSeconds } from '../lib/proc.ts';
import { type PollResult, runPoll } from '../load/poll-load.ts';
import { type KafkaSink, Publisher } from '../load/publisher.ts';
import { baseUrl, type StaticFile } from '../targets/nchan.ts';
import type { RunningSystem } from '../targets/types.ts';

export interface PollPhaseSpec {
  /** Orders in the snapshot (the feed keeps this many). */
  items: number;
  connections: number;
  durationS: number;
}

export interface PollRow {
  system: string;
  resource: string;
  variant: 'full' | 'gzip' | '304';
  bodyBytes: number;
  requestsPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  okResponses: number;
  wrongStatus: number;
  errors: number;
  cpuSeconds: number;
  cpuUsPerRequest: number;
}

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A GET with exactly these headers (fetch would add Accept-Encoding and decode). */
function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

const VARIANTS = ['full', 'gzip', '304'] as const;

/**
 * Polling: the gateway's /v1/snapshot (and a legacy route with --legacy-path) against NGINX
 * serving the very same bytes as a static file, each asked for in full, gzipped, and with
 * If-None-Match (304). The snapshot holds `items` orders published through Kafka first.
 */
export async function pollPhase(ctx: RunContext, spec: PollPhaseSpec): Promise<PollRow[]> {
  const rows: PollRow[] = [];
  const gw = await startSystem(ctx, 'switchyard', { phase: 'poll', maxItems: spec.items });
  let nginx: RunningSystem | null = null;
  let plain: RunningSystem | null = null;
  try {
    const base = ctx.opts.url ? new URL(ctx.opts.url).origin : baseUrl(gw);
    const sink = gw.sink as KafkaSink;
    const orders = new Publisher(sink, ctx.opts.seed).batch(spec.items);
    await sink.sendAndWait(orders);
    const paths = [{ resource: '/v1/snapshot', path: '/v1/snapshot?streams=orders' }];
    if (ctx.opts.legacyPath) paths.push({ resource: ctx.opts.legacyPath, path: ctx.opts.legacyPath });
    // Wait until the snapshot holds them all (its ETag is the position: `...:<next offset>`).
    const deadline = Date.now() + 20_000;
    for (;;) {
      const r = await get(`${base}${paths[0]!.path}`);
      if (r.status === 200 && String(r.headers.etag ?? '').endsWith(`:${spec.items}"`)) break;
      if (Date.now() > deadline)
        throw new Error(`snapshot did not reach ${spec.items} items (${r.headers.etag})`);
      await sleep(100);
    }
    const files: StaticFile[] = [];
    const gwEtags = new Map<string, string>();
    for (const [i, p] of paths.entries()) {
      const plain = await get(`${base}${p.path}`);
      const gz = await get(`${base}${p.path}`, { 'Accept-Encoding': 'gzip' });
      gwEtags.set(p.resource, String(plain.headers.etag));
      const gzip = gz.headers['content-encoding'] === 'gzip' ? gz.body : gzipSync(plain.body, { level: 6 });
      files.push({ name: `r${i}.json`, body: plain.body, gzip });
    }
    if (ctx.opts.systems.includes('nchan')) nginx = await startSystem(ctx, 'nchan', { phase: 'poll', files });
    // The Node floor for polling: node:http serving the same bytes (first resource only).
    if (ctx.opts.systems.includes('plain-node'))
      plain = await startSystem(ctx, 'plain-node', { phase: 'poll', files: files.slice(0, 1) });

    for (const [i, p] of paths.entries()) {
      const file = files[i]!;
      const targets: Array<{ sys: RunningSystem; url: string; etag: string }> = [
        { sys: gw, url: `${base}${p.path}`, etag: gwEtags.get(p.resource)! },
      ];
      if (plain && i === 0) {
        const url = `${baseUrl(plain)}/static`;
        const head = await get(url);
        targets.unshift({ sys: plain, url, etag: String(head.headers.etag) });
      }
      if (nginx) {
        const url = `${baseUrl(nginx)}/static/${file.name}`;
        const head = await get(url, {}, 'HEAD');
        targets.unshift({ sys: nginx, url, etag: String(head.headers.etag) });
      }
      for (const t of targets)
        for (const variant of VARIANTS) {
          const headers: Record<string, string> =
            variant === 'gzip'
              ? { 'accept-encoding': 'gzip' }
              : variant === '304'
                ? { 'if-none-match': t.etag }
                : {};
          const pids = t.sys.pids();
          const cpu0 = cpuSeconds(pids);
          const run = runPoll({
            url: t.url,
            connections: spec.connections,
            durationS: spec.durationS,
            headers,
          });
          const res: PollResult = await run.result;
          const cpu = cpuSeconds(pids) - cpu0;
          const ok = variant === '304' ? res.status3xx : res.status2xx;
          rows.push({
            system: t.sys.label,
            resource: p.resource,
            variant,
            bodyBytes: variant === 'gzip' ? file.gzip.length : variant === '304' ? 0 : file.body.length,
            requestsPerSec: Math.round(res.requestsPerSec),
            latencyP50Ms: res.latencyP50Ms,
            latencyP99Ms: res.latencyP99Ms,
            okResponses: ok,
            wrongStatus: res.requests - ok,
            errors: res.errors,
            cpuSeconds: Math.round(cpu * 100) / 100,
            cpuUsPerRequest: res.requests > 0 ? Math.round((cpu * 1e7) / res.requests) / 10 : Number.NaN,
          });
          ctx.log(`  ${t.sys.label} ${p.resource} ${variant}: ${Math.round(res.requestsPerSec)} req/s`);
        }
    }
  } finally {
    await nginx?.stop();
    await plain?.stop();
    await gw.stop();
  }
  return rows;
}
