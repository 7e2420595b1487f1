/**
 * Heap per update kept in the replay history (HISTORY_SIZE, HISTORY_SECONDS, HISTORY_MAX_RECORDS):
 * applies N orders of about `--bytes` bytes to a cache that keeps all of them in its history and
 * to one that keeps none (everything else equal: the same feed, the same position), and prints
 * the heap difference per update after a full GC, for a few record sizes. What docs/capacity.md
 * sizes the history with.
 *
 *   node --expose-gc --import tsx bench/micro/history-memory.ts [--updates 100000] [--bytes 101,250,1000] [--runs 3]
 */
import { parseArgs } from 'node:util';
import { SnapshotCache } from '../../gateway/cache/snapshot-cache.ts';
import { streamSchema } from '../../gateway/config/streams.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';

const { values } = parseArgs({
  options: {
    updates: { type: 'string', default: '100000' },
    bytes: { type: 'string', default: '101,250,1000' },
    runs: { type: 'string', default: '3' },
  },
});
const updates = Number(values.updates);
const sizes = values.bytes.split(',').map(Number);
const runs = Number(values.runs);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const TOPIC = 'bench.orders';
const STREAMS = [streamSchema.parse({ name: 'orders', mode: 'feed', topic: TOPIC })];
const BATCH = 500;

/** An order of about `bytes` bytes of JSON (the padding makes up the size). */
function order(i: number, bytes: number): Buffer {
  const base = { id: `o${i}`, city: 'Berlin', amount: i % 1000, pad: '' };
  const pad = Math.max(0, bytes - JSON.stringify(base).length);
  return Buffer.from(JSON.stringify({ ...base, pad: 'x'.repeat(pad) }));
}

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

/** Heap growth of a cache that applied `updates` orders, keeping `kept` of them in its history. */
function measure(kept: number, bytes: number): number {
  const before = heapAfterGc();
  let clock = 1_000_000;
  const cache = new SnapshotCache({
    streams: STREAMS,
    historySize: { records: kept, maxAgeMs: 0, maxRecords: kept },
    now: () => clock,
  });
  cache.plan({ topic: TOPIC, partition: 0, startOffset: 0, highWatermark: 0 });
  for (let o = 0; o < updates; o += BATCH) {
    const batch: SourceRecord[] = [];
    for (let i = o; i < Math.min(updates, o + BATCH); i++)
      batch.push({
        topic: TOPIC,
        partition: 0,
        offset: i,
        key: Buffer.from(`o${i}`),
        value: order(i, bytes),
        timestamp: clock,
      });
    cache.apply(TOPIC, 0, batch);
    clock += 1;
  }
  const after = heapAfterGc();
  // Keep the cache alive until measured.
  if (cache.history.size !== kept) throw new Error(`history holds ${cache.history.size}, expected ${kept}`);
  return after - before;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const rows: string[][] = [];
for (const bytes of sizes) {
  const per: number[] = [];
  for (let r = 0; r < runs; r++) {
    const none = measure(0, bytes);
    const all = measure(updates, bytes);
    per.push((all - none) / updates);
  }
  const b = median(per);
  const data = `{"stream":"orders","op":"append","key":"o1","value":${order(1, bytes)},"createdAt":1,"appliedAt":1}`;
  rows.push([
    String(bytes),
    String(data.length),
    updates.toLocaleString('en'),
    b.toFixed(0),
    `${per.map((x) => x.toFixed(0)).join(' / ')}`,
    ((b * 100_000) / 2 ** 20).toFixed(1),
  ]);
}

const head = ['record B', 'event data B', 'updates', 'heap B/update (median)', 'runs', 'MiB per 100k'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`;
process.stdout.write(
  `${[line(head), `|${widths.map((w) => `${'-'.repeat(w + 1)}:`).join('|')}|`, ...rows.map(line)].join('\n')}\n`,
);
process.stdout.write(`node ${process.version}, ${runs} runs per size\n`);
