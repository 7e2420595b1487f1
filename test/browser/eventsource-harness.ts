/**
 * Stage of the EventSource fault suite: Chromium's own `EventSource` (Debian's chromium through
 * playwright-core), never the project's client, on pages served by NGINX (the shipped template,
 * test/helpers/nginx.ts) or by one gateway directly; gateway processes on the real broker; the
 * numbered producer of the fault tests. Every EventSource records its whole transcript (events
 * with their ids, and each time `onerror` found it CLOSED); `checkTranscript` then demands no
 * gap (ids advance by exactly one offset per record, and the producer's numbers by one), no
 * duplicate, one snapshot, and an end equal to `/v1/snapshot`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type Browser, chromium, type Page } from 'playwright-core';
import { COUNTERS, FEED } from '../fault/fleet.ts';
import { NumberedProducer } from '../fault/producer.ts';
import { FAULT_ENV } from '../fault/scenario.ts';
import { GatewayProcess } from '../helpers/gateway-process.ts';
import { createTopic, produce } from '../helpers/kafka.ts';
import { Nginx } from '../helpers/nginx.ts';
import type { Teardown } from '../helpers/sse-client.ts';

/** Streams in name order, as ids write their positions: `<set>-<lineage>:<counters>_<feed>`. */
export const STREAMS = `${COUNTERS},${FEED}`;

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'];

export interface Stage {
  gateways: GatewayProcess[];
  nginx: Nginx | null;
  producer: NumberedProducer;
  counterTopic: string;
  feedTopic: string;
  /** Where pages come from and EventSources connect: NGINX, or the first gateway. */
  origin: string;
  browser: Browser;
}

export interface StageOptions {
  /** Gateway processes (1 or 2). */
  instances: number;
  /** Put the shipped NGINX in front (pages and streams through it). */
  nginx: boolean;
  env?: Record<string, string>;
  streamsPerIp?: number;
  /** Counter records written before the gateways start (a larger table bootstraps longer). */
  seedRows?: number;
}

/** Starts topics, gateways, NGINX and Chromium; all are stopped on `t.after`. */
export async function startStage(t: Teardown, opts: StageOptions): Promise<Stage> {
  const feedTopic = await withRetry(() => createTopic('es-feed', { partitions: 1 }));
  const counterTopic = await withRetry(() => createTopic('es-counters', { partitions: 3, compacted: true }));
  const producer = new NumberedProducer(feedTopic, counterTopic, { intervalMs: 40 });
  t.after(() => producer.stop().catch(() => {}));
  if (opts.seedRows) await seedTable(counterTopic, opts.seedRows);
  await producer.writeTicks(5);
  const env = {
    ...FAULT_ENV,
    SHUTDOWN_DRAIN_MS: '3000',
    KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
    STREAMS: JSON.stringify([
      { name: COUNTERS, topic: counterTopic, mode: 'table' },
      // The default maxItems (500, 20 s of the producer): a restarted instance reads the feed
      // back to HISTORY_SECONDS, so a resume onto it replays whatever maxItems is.
      { name: FEED, topic: feedTopic, mode: 'feed' },
    ]),
    ...opts.env,
  };
  const gateways = await Promise.all(
    Array.from({ length: opts.instances }, (_, i) =>
      GatewayProcess.start({ env, name: `gateway-${'ab'[i]}` }, 120_000),
    ),
  );
  t.after(() => Promise.all(gateways.map((g) => g.stop())));
  let nginx: Nginx | null = null;
  if (opts.nginx) {
    nginx = await Nginx.start({
      upstreams: gateways.map((g) => g.port),
      ...(opts.streamsPerIp ? { streamsPerIp: opts.streamsPerIp } : {}),
    });
    t.after(() => nginx?.stop());
  }
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  t.after(() => browser.close());
  return {
    gateways,
    nginx,
    producer,
    counterTopic,
    feedTopic,
    origin: nginx ? nginx.origin : gateways[0]!.url,
    browser,
  };
}

/**
 * Topic creation on a broker shared with other test files now and then answers "This server
 * does not host this topic-partition" while metadata propagates: tried again, a few times.
 */
async function withRetry<T>(f: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (err) {
      if (attempt >= 3) throw err;
      await sleep(500 * attempt);
    }
  }
}

/** Bulk rows of other keys in the counters table: a longer bootstrap, not part of the checks. */
async function seedTable(topic: string, rows: number): Promise<void> {
  for (let i = 0; i < rows; i += 2000) {
    const batch = Array.from({ length: Math.min(2000, rows - i) }, (_, j) => ({
      key: `seed-${i + j}`,
      value: '{"n":0}',
    }));
    await produce(topic, batch);
  }
}

/** A page of the origin with `count` EventSources on the test streams, recording everything. */
export async function openEventSources(stage: Stage, count: number): Promise<Page> {
  const ctx = await stage.browser.newContext({ ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(`${stage.origin}/healthz`);
  await page.evaluate(
    ({ count, url }) => {
      type Entry = { t: string; id?: string; data?: string };
      const w = window as unknown as {
        sources: EventSource[];
        logs: Entry[][];
        closedForGood: number[];
        open: (i: number) => void;
      };
      w.sources = [];
      w.logs = [];
      w.closedForGood = [];
      w.open = (i: number) => {
        const es = new EventSource(url);
        const log: Entry[] = [];
        w.sources[i] = es;
        w.logs[i] = log;
        for (const name of ['snapshot', 'update', 'gateway-error', 'shutdown'])
          es.addEventListener(name, (ev) => {
            const m = ev as MessageEvent;
            log.push({ t: name, id: m.lastEventId, data: String(m.data) });
          });
        es.addEventListener('error', () => {
          log.push({ t: 'onerror', data: String(es.readyState) });
          if (es.readyState === EventSource.CLOSED) w.closedForGood.push(i);
        });
      };
      for (let i = 0; i < count; i++) w.open(i);
    },
    { count, url: `/v1/stream?streams=${STREAMS}` },
  );
  return page;
}

/** Opens EventSources `from`..`from + count - 1` on a page made by openEventSources. */
export async function openMore(page: Page, from: number, count: number): Promise<void> {
  await page.evaluate(
    ({ from, count }) => {
      const w = window as unknown as { open: (i: number) => void };
      for (let i = from; i < from + count; i++) w.open(i);
    },
    { from, count },
  );
}

/** Resolves once each listed EventSource received `more` updates beyond what it has now. */
export async function waitProgress(page: Page, which: number[], more = 3, timeoutMs = 60_000): Promise<void> {
  const counts = await page.evaluate(
    (which) =>
      which.map(
        (i) =>
          ((window as unknown as { logs: Array<Array<{ t: string }>> }).logs[i] ?? []).filter(
            (e) => e.t === 'update',
          ).length,
      ),
    which,
  );
  await page.waitForFunction(
    ({ which, counts, more }) => {
      const logs = (window as unknown as { logs: Array<Array<{ t: string }>> }).logs;
      return which.every(
        (i, k) => (logs[i] ?? []).filter((e) => e.t === 'update').length >= counts[k]! + more,
      );
    },
    { which, counts, more },
    { timeout: timeoutMs, polling: 100 },
  );
}

export interface Entry {
  t: string;
  id?: string;
  data?: string;
}

export interface PageState {
  logs: Entry[][];
  readyStates: number[];
  closedForGood: number[];
}

export async function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => {
    const w = window as unknown as { sources: EventSource[]; logs: Entry[][]; closedForGood: number[] };
    return {
      logs: w.logs,
      readyStates: w.sources.map((s) => s.readyState),
      closedForGood: w.closedForGood,
    };
  });
}

/** Closes EventSource `i` of the page (as a page that no longer needs it). */
export async function closeEventSource(page: Page, i: number): Promise<void> {
  await page.evaluate((i) => {
    (window as unknown as { sources: EventSource[] }).sources[i]!.close();
  }, i);
}

/** The position of `/v1/snapshot` at the origin, as a page's fetch sees it. */
export async function snapshotOf(page: Page): Promise<{ position: string; body: SnapshotBody }> {
  return page.evaluate(async (streams) => {
    const res = await fetch(`/v1/snapshot?streams=${streams}`, { cache: 'no-store' });
    if (res.status !== 200) throw new Error(`snapshot: ${res.status}`);
    const body = (await res.json()) as SnapshotBody;
    return { position: body.position, body };
  }, STREAMS);
}

export interface SnapshotBody {
  position: string;
  streams: {
    counters: { entries: Record<string, { value: { n: number } }> };
    feed: { items: Array<{ value: { seq: number } }> };
  };
}

/**
 * Waits until every listed EventSource's last id is the snapshot's position (the producer has
 * stopped), re-reading the snapshot as instances catch up. Polls the page's state.
 */
export async function waitConverged(page: Page, which: number[], timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const { position } = await snapshotOf(page).catch(() => ({ position: '' }));
    const state = await pageState(page);
    const lastIds = which.map((i) => lastId(state.logs[i] ?? []));
    if (position !== '' && lastIds.every((id) => id === position)) return position;
    last = `snapshot ${position}, clients at ${[...new Set(lastIds)].join(' ')}`;
    if (Date.now() > deadline) throw new Error(`EventSources did not converge: ${last}`);
    await sleep(200);
  }
}

function lastId(log: Entry[]): string {
  for (let i = log.length - 1; i >= 0; i--) {
    const e = log[i]!;
    if ((e.t === 'snapshot' || e.t === 'update') && e.id) return e.id;
  }
  return '';
}

const offsets = (id: string): number[] =>
  id
    .split(':')[1]!
    .split('_')
    .flatMap((p) => p.split('.').map(Number));

/**
 * Checks one transcript: exactly one snapshot, then updates each one record further (ids: one
 * offset in one partition; data: the feed's seq or the key's n one more than before), ending at
 * `end` with the state of `truth`. Returns the problems found (empty: fine).
 */
export function checkTranscript(log: Entry[], end: string, truth: SnapshotBody): string[] {
  const problems: string[] = [];
  let snapshots = 0;
  let prev: number[] | null = null;
  let seq = 0;
  const counters = new Map<string, number>();
  for (const e of log) {
    if (e.t === 'snapshot') {
      snapshots++;
      const body = JSON.parse(e.data!) as SnapshotBody & { resync: boolean; reason?: string };
      if (snapshots > 1) problems.push(`a second snapshot (resync ${body.reason}) at ${e.id}`);
      prev = offsets(e.id!);
      const items = body.streams.feed.items;
      seq = items.length > 0 ? items[items.length - 1]!.value.seq : 0;
      counters.clear();
      for (const [k, v] of Object.entries(body.streams.counters.entries)) counters.set(k, v.value.n);
    } else if (e.t === 'update') {
      if (!prev) {
        problems.push(`an update before any snapshot: ${e.id}`);
        continue;
      }
      const cur = offsets(e.id!);
      const steps = cur.reduce((s, o, i) => s + (o - prev![i]!), 0);
      if (steps !== 1 || cur.some((o, i) => o < prev![i]!))
        problems.push(`id ${e.id} is not one record after ${prev.join('.')}`);
      prev = cur;
      const u = JSON.parse(e.data!) as { stream: string; key: string; value: { seq?: number; n?: number } };
      if (u.stream === FEED) {
        if (u.value.seq !== seq + 1) problems.push(`feed seq ${u.value.seq} after ${seq}`);
        seq = u.value.seq ?? seq;
      } else {
        const before = counters.get(u.key) ?? 0;
        if (u.value.n !== before + 1) problems.push(`${u.key}: n ${u.value.n} after ${before}`);
        counters.set(u.key, u.value.n ?? before);
      }
    }
  }
  if (snapshots === 0) problems.push('no snapshot');
  if (lastId(log) !== end) problems.push(`ends at ${lastId(log)}, not at ${end}`);
  const items = truth.streams.feed.items;
  if (items.length > 0 && seq !== items[items.length - 1]!.value.seq)
    problems.push(`feed ends at seq ${seq}, snapshot at ${items[items.length - 1]!.value.seq}`);
  for (const [k, v] of Object.entries(truth.streams.counters.entries))
    if (!k.startsWith('seed-') && counters.get(k) !== v.value.n)
      problems.push(`${k} ends at ${counters.get(k)}, snapshot has ${v.value.n}`);
  return problems.slice(0, 5);
}

/** Asserts every listed EventSource OPEN and never CLOSED, with a clean transcript. */
export async function assertAllClean(page: Page, which: number[], what: string): Promise<string> {
  const end = await waitConverged(page, which);
  const { body } = await snapshotOf(page);
  const state = await pageState(page);
  const failures: string[] = [];
  if (state.closedForGood.length > 0)
    failures.push(`EventSources closed for good: ${state.closedForGood.join(', ')}`);
  for (const i of which) {
    if (state.readyStates[i] !== 1) failures.push(`EventSource ${i} readyState ${state.readyStates[i]}`);
    const problems = checkTranscript(state.logs[i]!, end, body);
    if (problems.length > 0) failures.push(`EventSource ${i}: ${problems.join('; ')}`);
  }
  if (failures.length > 0) throw new Error(`${what}:\n${failures.join('\n')}`);
  return end;
}

/** Counts of events of a name across the listed transcripts (e.g. gateway-error). */
export function countEvents(state: PageState, name: string, code?: string): number {
  let n = 0;
  for (const log of state.logs)
    for (const e of log ?? [])
      if (e.t === name && (code === undefined || (e.data ?? '').includes(`"code":"${code}"`))) n++;
  return n;
}
