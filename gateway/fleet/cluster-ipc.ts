import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { type DistinctSketch, estimateUnion } from '../observability/distinct-counter.ts';
import type { LatencyWindow } from '../observability/latency-stats.ts';
import type { ControlLog, ControlRecord } from './control-log.ts';

/**
 * An extension's question to every worker and each worker's answer (JSON over IPC; the legacy
 * adapter's shadow statistics): the core carries them without knowing their shape.
 */
export type ReportQuery = unknown;
export type Report = unknown;

/**
 * What the workers of one instance (WORKERS > 1) and their primary say to each other over the
 * cluster IPC channel. Two conversations:
 * - the control log of the embedded demo (no Kafka): the primary holds the log (the last record
 *   per key, in memory) and relays every appended record to every worker; a worker that starts
 *   asks for a replay first. With Kafka, workers read the control topic themselves instead.
 * - the figures: a worker asked for `/metrics` or `/v1/stats/latency` asks the primary, which
 *   collects every worker's registry and latency buckets and answers with their sum; asked for
 *   the shadow statistics (`shadow` set), it collects only those, and the asking worker merges them.
 */
type Msg =
  | { sy: 'control-append'; id: number; key: string; value: string | null }
  | { sy: 'control-appended'; id: number; offset: number }
  | { sy: 'control-replay' }
  | { sy: 'control-record'; record: ControlRecord }
  | { sy: 'control-loaded' }
  | { sy: 'figures-req'; id: number; shadow?: ReportQuery }
  | { sy: 'figures-collect'; id: number; shadow?: ReportQuery }
  | {
      sy: 'figures-part';
      id: number;
      metrics: MetricObjectWithValues<MetricValue<string>>[];
      latency: LatencyWindow;
      pollers: DistinctSketch | null;
    }
  | { sy: 'shadow-part'; id: number; shadow: Report }
  | { sy: 'figures-res'; id: number; text: string; latency: LatencyWindow[]; workers: number }
  | { sy: 'shadow-res'; id: number; shadow: Report[] };

function isMsg(m: unknown): m is Msg {
  return typeof m === 'object' && m !== null && typeof (m as { sy?: unknown }).sy === 'string';
}

/** How long the primary waits for every worker's figures before answering with those it has. */
const COLLECT_TIMEOUT_MS = 2000;

// --- worker side ---------------------------------------------------------------------------

let nextId = 1;
const waiting = new Map<number, (m: Msg) => void>();
let listening = false;
const recordHandlers: Array<(r: ControlRecord) => void> = [];
const loadedHandlers: Array<() => void> = [];
type FiguresPart = {
  metrics: MetricObjectWithValues<MetricValue<string>>[];
  latency: LatencyWindow;
  pollers: DistinctSketch | null;
};
let collector: (() => Promise<FiguresPart>) | null = null;
let shadowCollector: ((q: ReportQuery) => Report) | null = null;

function listen(): void {
  if (listening) return;
  listening = true;
  process.on('message', (m: unknown) => {
    if (!isMsg(m)) return;
    switch (m.sy) {
      case 'control-appended':
      case 'figures-res':
      case 'shadow-res':
        waiting.get(m.id)?.(m);
        waiting.delete(m.id);
        return;
      case 'control-record':
        for (const h of recordHandlers) h(m.record);
        return;
      case 'control-loaded':
        for (const h of loadedHandlers.splice(0)) h();
        return;
      case 'figures-collect':
        if (m.shadow !== undefined) {
          if (shadowCollector) send({ sy: 'shadow-part', id: m.id, shadow: shadowCollector(m.shadow) });
          return;
        }
        if (!collector) return;
        void collector().then(
          (part) => send({ sy: 'figures-part', id: m.id, ...part }),
          () => {},
        );
        return;
      default:
        return;
    }
  });
}

function send(m: Msg): void {
  process.send?.(m);
}

function ask<T extends Msg>(m: Msg & { id: number }, timeoutMs: number): Promise<T> {
  listen();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiting.delete(m.id);
      reject(new Error('the cluster primary did not answer'));
    }, timeoutMs);
    timer.unref();
    waiting.set(m.id, (reply) => {
      clearTimeout(timer);
      resolve(reply as T);
    });
    send(m);
  });
}

/** True in a worker of `WORKERS > 1` (a primary is there to ask). */
export function inClusterWorker(): boolean {
  return cluster.isWorker && typeof process.send === 'function';
}

/** In a worker: answers the primary's collection requests with this process's figures. */
export function serveFigures(collect: () => Promise<FiguresPart>): void {
  collector = collect;
  listen();
}

/** In a worker: answers the primary's collection of an extension's report with this process's. */
export function serveReport(collect: (q: ReportQuery) => Report): void {
  shadowCollector = collect;
  listen();
}

/** In a worker: the extension's report of every worker of this instance (one each). */
export async function clusterReports(query: ReportQuery): Promise<Report[]> {
  const r = await ask<Extract<Msg, { sy: 'shadow-res' }>>(
    { sy: 'figures-req', id: nextId++, shadow: query },
    COLLECT_TIMEOUT_MS + 3000,
  );
  return r.shadow;
}

/** In a worker: the figures of every worker of this instance, from the primary. */
export async function clusterFigures(): Promise<{ text: string; latency: LatencyWindow[]; workers: number }> {
  const r = await ask<Extract<Msg, { sy: 'figures-res' }>>(
    { sy: 'figures-req', id: nextId++ },
    COLLECT_TIMEOUT_MS + 3000,
  );
  return { text: r.text, latency: r.latency, workers: r.workers };
}

/** The control log of a worker when the primary holds it (embedded demo, WORKERS > 1). */
export class ClusterControlLog implements ControlLog {
  readonly kind = 'cluster' as const;
  private readonly handlers: Array<(r: ControlRecord) => void> = [];
  private isLoaded = false;
  private nextOffset = 0;
  private started = false;

  start(): void {
    if (this.started) return;
    this.started = true;
    listen();
    recordHandlers.push((r) => {
      if (r.offset < this.nextOffset) return;
      this.nextOffset = r.offset + 1;
      for (const h of this.handlers) h(r);
    });
    loadedHandlers.push(() => {
      this.isLoaded = true;
    });
    send({ sy: 'control-replay' });
  }

  async append(key: string, value: string | null): Promise<number> {
    const r = await ask<Extract<Msg, { sy: 'control-appended' }>>(
      { sy: 'control-append', id: nextId++, key, value },
      5000,
    );
    return r.offset;
  }

  onRecord(handler: (r: ControlRecord) => void): void {
    this.handlers.push(handler);
  }

  loaded(): boolean {
    return this.isLoaded;
  }

  whenLoaded(timeoutMs: number): Promise<boolean> {
    if (this.isLoaded) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.isLoaded), timeoutMs);
      timer.unref();
      loadedHandlers.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  async stop(): Promise<void> {}
}

// --- primary side ----------------------------------------------------------------------------

/** The distinct-pollers gauge: summing it over workers counts a client once per worker it hit. */
const POLLERS = 'switchyard_pollers';

/**
 * The workers' metrics, with `switchyard_pollers` set in each to the distinct count over all of
 * them (their counters' windows merged) and aggregated by `max`, so the sum is of clients, not of
 * client-worker pairs. Without sketches (older workers) the per-worker values are left as sent.
 */
export function mergePollers(
  parts: ReadonlyArray<Pick<FiguresPart, 'metrics' | 'pollers'>>,
): MetricObjectWithValues<MetricValue<string>>[][] {
  const sketches = parts.flatMap((p) => (p.pollers ? [p.pollers] : []));
  if (sketches.length === 0) return parts.map((p) => p.metrics);
  const union = estimateUnion(sketches);
  return parts.map((p) =>
    p.metrics.map((m) =>
      m.name === POLLERS ? { ...m, aggregator: 'max', values: [{ value: union, labels: {} }] } : m,
    ),
  );
}

/**
 * In the primary: keeps the demo's control log (the last record of each key) and relays it,
 * and collects the workers' figures on request. Attached once by runPrimary().
 */
export function servePrimary(): void {
  const latest = new Map<string, ControlRecord>();
  let next = 0;
  type Part = Extract<Msg, { sy: 'figures-part' | 'shadow-part' }>;
  const collections = new Map<number, { parts: Part[]; expected: number; done: () => void }>();
  let collectId = 1;
  const workers = (): Worker[] => Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);

  // Asks every live worker for its part; answers with those in after COLLECT_TIMEOUT_MS at most.
  const gather = async (shadow: ReportQuery | undefined): Promise<Part[]> => {
    const id = collectId++;
    const live = workers().filter((w) => w.isConnected());
    const parts: Part[] = [];
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, COLLECT_TIMEOUT_MS);
      collections.set(id, {
        parts,
        expected: live.length,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      const ask: Msg =
        shadow === undefined ? { sy: 'figures-collect', id } : { sy: 'figures-collect', id, shadow };
      for (const w of live) w.send(ask);
      if (live.length === 0) resolve();
    });
    collections.delete(id);
    return parts;
  };

  const collect = async (): Promise<Extract<Msg, { sy: 'figures-res' }>> => {
    const parts = (await gather(undefined)).filter((p) => p.sy === 'figures-part');
    const registry = AggregatorRegistry.aggregate(mergePollers(parts));
    return {
      sy: 'figures-res',
      id: 0,
      text: await registry.metrics(),
      latency: parts.map((p) => p.latency),
      workers: parts.length,
    };
  };

  const collectShadow = async (query: ReportQuery): Promise<Extract<Msg, { sy: 'shadow-res' }>> => {
    const parts = (await gather(query)).filter((p) => p.sy === 'shadow-part');
    return { sy: 'shadow-res', id: 0, shadow: parts.map((p) => p.shadow) };
  };

  cluster.on('message', (w: Worker, m: unknown) => {
    if (!isMsg(m)) return;
    switch (m.sy) {
      case 'control-append': {
        const record = { key: m.key, value: m.value, offset: next++ };
        latest.set(m.key, record);
        w.send({ sy: 'control-appended', id: m.id, offset: record.offset } satisfies Msg);
        for (const other of workers()) other.send({ sy: 'control-record', record } satisfies Msg);
        return;
      }
      case 'control-replay': {
        const records = [...latest.values()].sort((a, b) => a.offset - b.offset);
        for (const record of records) w.send({ sy: 'control-record', record } satisfies Msg);
        w.send({ sy: 'control-loaded' } satisfies Msg);
        return;
      }
      case 'figures-req':
        void (m.shadow === undefined ? collect() : collectShadow(m.shadow)).then((res) => {
          if (w.isConnected()) w.send({ ...res, id: m.id } satisfies Msg);
        });
        return;
      case 'figures-part':
      case 'shadow-part': {
        const c = collections.get(m.id);
        if (!c) return;
        c.parts.push(m);
        if (c.parts.length >= c.expected) c.done();
        return;
      }
      default:
        return;
    }
  });
}
