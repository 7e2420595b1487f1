/**
 * Summarises a V8 .cpuprofile (from `bench/run.ts --cpu-prof`, which starts the gateway with
 * `node --cpu-prof`): self time per function and per file, so a disappointing row of the table
 * can be explained in docs/benchmarks.md without opening DevTools.
 *
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile> [--top 25]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
});
const file = positionals[0];
if (!file) {
  process.stderr.write('usage: node --import tsx bench/profile-summary.ts <file.cpuprofile> [--top N]\n');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (const [i, id] of prof.samples.entries())
  selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const shortUrl = (u: string) =>
  u.replace(/^file:\/\/.*?\/(node_modules|gateway|bench)\//, '$1/').replace(/^node:/, '');
const fnKey = (n: ProfileNode) =>
  `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ''}`;
const fileKey = (n: ProfileNode) => {
  const u = shortUrl(n.callFrame.url);
  if (!u) return n.callFrame.functionName; // (program), (garbage collector), (idle)
  return u.startsWith('node_modules/') ? u.split('/').slice(0, 2).join('/') : u;
};

function top(key: (n: ProfileNode) => string, n: number): Array<[string, number]> {
  const m = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node) m.set(key(node), (m.get(key(node)) ?? 0) + us);
  }
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
}

/** Self + callee time per function, each sample counted once per function even under recursion. */
function inclusive(): Array<[string, number]> {
  const totals = new Map<number, number>();
  const totalOf = (id: number): number => {
    const node = byId.get(id)!;
    let t = selfUs.get(id) ?? 0;
    for (const c of node.children ?? []) t += totalOf(c);
    totals.set(id, t);
    return t;
  };
  const root = prof.nodes[0]!;
  totalOf(root.id);
  const out = new Map<string, number>();
  const walk = (id: number, active: Set<string>): void => {
    const node = byId.get(id)!;
    const k = fnKey(node);
    const fresh = !active.has(k);
    if (fresh) {
      out.set(k, (out.get(k) ?? 0) + (totals.get(id) ?? 0));
      active.add(k);
    }
    for (const c of node.children ?? []) walk(c, active);
    if (fresh) active.delete(k);
  };
  walk(root.id, new Set());
  return [...out.entries()].sort((a, b) => b[1] - a[1]);
}

const idle = top((n) => n.callFrame.functionName, 1000).find(([k]) => k === '(idle)')?.[1] ?? 0;
const busy = total - idle;
const pct = (us: number) => `${((100 * us) / Math.max(busy, 1)).toFixed(1)}%`.padStart(6);
const n = Number(values.top);
process.stdout.write(
  `${file}\nbusy ${(busy / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s (shares below are of busy time)\n\n`,
);
process.stdout.write('self time by function:\n');
for (const [k, us] of top(fnKey, n + 1))
  if (!k.startsWith('(idle)')) process.stdout.write(`${pct(us)}  ${k}\n`);
process.stdout.write('\ntotal time (self + callees) by function, gateway code only:\n');
for (const [k, us] of inclusive()
  .filter(([k]) => k.includes('gateway/'))
  .slice(0, n))
  process.stdout.write(`${pct(us)}  ${k}\n`);
process.stdout.write('\nself time by file / package:\n');
for (const [k, us] of top(fileKey, 16)) if (k !== '(idle)') process.stdout.write(`${pct(us)}  ${k}\n`);
