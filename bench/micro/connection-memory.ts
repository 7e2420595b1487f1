/**
 * Where the memory of an idle stream goes: runs the gateway in this process (embedded demo feed,
 * no updates), opens N idle streams from a load worker, and prints heap / external / RSS growth
 * per stream after a full GC, plus the object types that grew most (from heap snapshots).
 *
 *   node --expose-gc --import tsx bench/micro/connection-memory.ts [--streams 2000] [--plain | --express] [--retainers]
 * `--plain` measures a bare node:http SSE handler (the baseline), `--express` the same handler
 * mounted on a bare express app: the two show what the framework itself costs per stream.
 * `--retainers` groups the growth by what holds each object (`type <- holder.edge`), which
 * names the field or listener behind an anonymous `(array)` or `Object`.
 * The RSS column is not meaningful here (the heap snapshots inflate it): use the kit's idle-10k.
 */
import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { createApp } from '../../gateway/http/app.ts';
import { createGateway, loadConfig, startGateway } from '../../gateway/switchyard.ts';
import { SseLoad } from '../load/sse-load.ts';

const { values } = parseArgs({
  options: {
    streams: { type: 'string', default: '2000' },
    plain: { type: 'boolean', default: false },
    express: { type: 'boolean', default: false },
    retainers: { type: 'boolean', default: false },
  },
});
const n = Number(values.streams);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

async function build(): Promise<{ server: Server; path: string }> {
  if (values.plain) {
    const clients = new Set<ServerResponse>();
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.flushHeaders();
      clients.add(res);
      res.on('close', () => clients.delete(res));
    });
    return { server, path: '/sub' };
  }
  if (values.express) {
    const app = (await import('express')).default();
    app.get('/sub', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.flushHeaders();
    });
    return { server: createServer(app), path: '/sub' };
  }
  const config = loadConfig({
    DEMO_RATE: '0',
    LOG_LEVEL: 'warn',
    MAX_STREAMS: '1000000',
    MAX_EVENT_LOOP_LAG_MS: '0',
    HEARTBEAT_MS: '300000',
  });
  const ctx = createGateway(config);
  await startGateway(ctx);
  const server = createServer(createApp(ctx));
  server.timeout = 0;
  return { server, path: '/v1/stream?streams=orders' };
}

function histogram(file: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  if (!process.env.KEEP_SNAPSHOTS) rmSync(file);
  const f = snap.snapshot.meta.node_fields as string[];
  const types = snap.snapshot.meta.node_types[0] as string[];
  const stride = f.length;
  const iType = f.indexOf('type');
  const iName = f.indexOf('name');
  const iSize = f.indexOf('self_size');
  const out = new Map<string, { count: number; size: number }>();
  const nodes = snap.nodes as number[];
  const keyOf = (i: number): string => {
    const type = types[nodes[i + iType]!];
    const name = type === 'object' || type === 'closure' ? snap.strings[nodes[i + iName]!] : `(${type})`;
    return type === 'closure' ? `closure ${name}` : name;
  };
  const holder = values.retainers ? firstRetainers(snap, keyOf) : null;
  for (let i = 0; i < nodes.length; i += stride) {
    const key = holder ? `${keyOf(i)} <- ${holder.get(i) ?? '(root)'}` : keyOf(i);
    const e = out.get(key) ?? { count: 0, size: 0 };
    e.count++;
    e.size += nodes[i + iSize]!;
    out.set(key, e);
  }
  return out;
}

/** For each node (by index into `nodes`), its first strong retainer as `holder.edge`. */
// biome-ignore lint/suspicious/noExplicitAny: the heap snapshot's JSON shape
function firstRetainers(snap: any, keyOf: (i: number) => string): Map<number, string> {
  const nf = snap.snapshot.meta.node_fields as string[];
  const ef = snap.snapshot.meta.edge_fields as string[];
  const edgeTypes = snap.snapshot.meta.edge_types[0] as string[];
  const nodes = snap.nodes as number[];
  const edges = snap.edges as number[];
  const iEdges = nf.indexOf('edge_count');
  const [eType, eName, eTo] = [ef.indexOf('type'), ef.indexOf('name_or_index'), ef.indexOf('to_node')];
  const parent = new Map<number, number>();
  const edgeOf = new Map<number, string>();
  let e = 0;
  for (let i = 0; i < nodes.length; i += nf.length) {
    const count = nodes[i + iEdges]!;
    for (let k = 0; k < count; k++, e += ef.length) {
      const kind = edgeTypes[edges[e + eType]!];
      if (kind === 'weak' || kind === 'shortcut') continue;
      const to = edges[e + eTo]!;
      if (parent.has(to)) continue;
      const nameOrIndex = edges[e + eName]!;
      parent.set(to, i);
      edgeOf.set(
        to,
        kind === 'element' || kind === 'hidden' ? `[${nameOrIndex}]` : snap.strings[nameOrIndex],
      );
    }
  }
  // A piece of a concatenated string is held by the string it is part of: name who holds that.
  const out = new Map<number, string>();
  for (const [to, from] of parent) {
    let holder = from;
    let edge = edgeOf.get(to)!;
    for (let hops = 0; hops < 64 && keyOf(holder) === '(concatenated string)'; hops++) {
      const up = parent.get(holder);
      if (up === undefined) break;
      edge = edgeOf.get(holder)!;
      holder = up;
    }
    out.set(to, `${keyOf(holder)}.${edge}`);
  }
  return out;
}

const { server, path } = await build();
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const port = (server.address() as { port: number }).port;
const load = await SseLoad.start(1);
// Warm up code paths with a few streams, then measure from a GC'd baseline.
load.target({ host: '127.0.0.1', port, path });
await load.rampTo(20, 1000, 10_000);
await load.closeAll();
await new Promise((r) => setTimeout(r, 500));
gc();
const m0 = process.memoryUsage();
const h0 = histogram(writeHeapSnapshot('/tmp/conn-mem-0.heapsnapshot'));
gc();
const base = process.memoryUsage();
load.target({ host: '127.0.0.1', port, path });
const s = await load.rampTo(n, 2000, 60_000);
await new Promise((r) => setTimeout(r, 1000));
gc();
const m1 = process.memoryUsage();
const h1 = histogram(writeHeapSnapshot('/tmp/conn-mem-1.heapsnapshot'));
const per = (k: keyof NodeJS.MemoryUsage) => ((m1[k] - base[k]) / 1024 / s.established).toFixed(2);
process.stdout.write(
  `${values.plain ? 'plain-node' : values.express ? 'bare express' : 'switchyard'}: ${s.established} idle streams, per stream: heapUsed ${per('heapUsed')} KB, external ${per('external')} KB, arrayBuffers ${per('arrayBuffers')} KB, rss ${per('rss')} KB (rss before ${(m0.rss / 1048576).toFixed(0)} MB)\n`,
);
const grew = [...h1.entries()]
  .map(([k, v]) => ({ k, count: v.count - (h0.get(k)?.count ?? 0), size: v.size - (h0.get(k)?.size ?? 0) }))
  .sort((a, b) => b.size - a.size)
  .slice(0, Number(process.env.TOP ?? 25));
for (const g of grew)
  process.stdout.write(
    `${(g.size / s.established).toFixed(0).padStart(7)} B/stream ${(g.count / s.established).toFixed(2).padStart(6)} obj/stream  ${g.k}\n`,
  );
await load.closeAll();
await load.stop();
server.closeAllConnections();
process.exit(0);
