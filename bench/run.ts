/**
 * The load-test kit's one command. Runs scenarios against Switchyard and the two baselines
 * (plain Node, NGINX + nchan), one system after the other in the same run, and prints a table.
 *
 *   node --import tsx bench/run.ts --scenario fanout-1k [--json] [options]
 *   node --import tsx bench/run.ts --scenario all            # the full run of docs/benchmarks.md
 *   node --import tsx bench/run.ts --list
 *
 * Options: --systems switchyard,plain-node,nchan  --scale 0.1  --window S  --load-workers N
 *   --streams N --rate R (single scenario)  --seed N  --out FILE  --cpu-prof
 *   --gateway-env K=V (repeatable)  --legacy-path /path (poll)
 *   --url http://host:port --topic T [--server-pid PID]: measure a gateway already running
 *   (the publisher writes to topic T on KAFKA_BROKERS; CPU/RSS need --server-pid).
 * Kafka: KAFKA_BROKERS if set, else a broker started for the run (scripts/kafka.ts), removed after.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { destroyBroker, startBroker } from '../scripts/kafka.ts';
import { killAllTracked } from './lib/children.ts';
import type { RunContext, RunOptions } from './lib/context.ts';
import { SseLoad } from './load/sse-load.ts';
import { renderScenario, renderTargets } from './report.ts';
import { SCENARIOS, type ScenarioResult } from './scenarios.ts';
import { nchanAvailable } from './targets/nchan.ts';
import { SWITCHYARD_ROOT } from './targets/switchyard.ts';
import type { SystemName } from './targets/types.ts';

const ALL_SYSTEMS: SystemName[] = ['switchyard', 'plain-node', 'nchan'];

function parse(argv: string[]): RunOptions & { list: boolean; help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', multiple: true },
      list: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
      json: { type: 'boolean', default: false },
      systems: { type: 'string' },
      scale: { type: 'string' },
      window: { type: 'string' },
      'load-workers': { type: 'string' },
      seed: { type: 'string' },
      url: { type: 'string' },
      topic: { type: 'string' },
      'server-pid': { type: 'string' },
      'legacy-path': { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      'core-quota': { type: 'string' },
      rounds: { type: 'string' },
      'gateway-env': { type: 'string', multiple: true },
      streams: { type: 'string' },
      rate: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const names = (values.scenario ?? []).flatMap((s) => s.split(',')).filter(Boolean);
  const scenarios = names.includes('all') ? SCENARIOS.map((s) => s.name) : names;
  for (const n of scenarios)
    if (!SCENARIOS.some((s) => s.name === n))
      throw new Error(`unknown scenario "${n}"; try --list (${SCENARIOS.map((s) => s.name).join(', ')})`);
  let systems = values.systems
    ? (values.systems.split(',') as SystemName[])
    : values.url
      ? (['switchyard'] as SystemName[])
      : ALL_SYSTEMS;
  for (const s of systems) if (!ALL_SYSTEMS.includes(s)) throw new Error(`unknown system "${s}"`);
  if (systems.includes('nchan') && !nchanAvailable()) {
    process.stderr.write('nchan module not installed (bash scripts/ensure-system.sh): skipping nchan\n');
    systems = systems.filter((s) => s !== 'nchan');
  }
  const num = (v: string | undefined, name: string): number | null => {
    if (v === undefined) return null;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
    return n;
  };
  const env: Record<string, string> = {};
  for (const kv of values['gateway-env'] ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new Error(`--gateway-env expects K=V, got "${kv}"`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return {
    list: values.list ?? false,
    help: values.help ?? false,
    scenarios,
    json: values.json ?? false,
    systems,
    scale: num(values.scale, 'scale') ?? 1,
    windowS: num(values.window, 'window'),
    loadWorkers: num(values['load-workers'], 'load-workers') ?? 2,
    seed: num(values.seed, 'seed') ?? 20241129,
    url: values.url ?? null,
    topic: values.topic ?? null,
    serverPid: num(values['server-pid'], 'server-pid'),
    legacyPath: values['legacy-path'] ?? null,
    cpuProf: values['cpu-prof'] ?? false,
    coreQuota: num(values['core-quota'], 'core-quota') ?? 0.25,
    rounds: num(values.rounds, 'rounds'),
    gatewayEnv: env,
    streams: num(values.streams, 'streams'),
    rate: num(values.rate, 'rate'),
    out: values.out ?? null,
  };
}

async function main(): Promise<void> {
  const opts = parse(process.argv.slice(2));
  if (opts.list || opts.help || opts.scenarios.length === 0) {
    for (const s of SCENARIOS)
      process.stdout.write(`${s.name.padEnd(12)} ${s.title}\n${' '.repeat(13)}${s.about}\n`);
    if (!opts.list)
      process.stdout.write('\nUsage: node --import tsx bench/run.ts --scenario <name|all> [--json]\n');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-'));
  const log = (m: string) => process.stderr.write(`${m}\n`);
  let kafkaState: string | null = null;
  let brokers: Promise<string[]> | null = null;
  const load = await SseLoad.start(opts.loadWorkers);
  const ctx: RunContext = {
    opts,
    dir,
    load,
    log,
    brokers() {
      brokers ??= (async () => {
        const env = process.env.KAFKA_BROKERS;
        if (env) return env.split(',');
        kafkaState = join(dir, 'kafka');
        log('starting a Kafka broker for the run (scripts/kafka.ts)');
        const info = await startBroker({ stateDir: kafkaState });
        return info.brokers.split(',');
      })();
      return brokers;
    },
  };
  const onSignal = () => {
    killAllTracked();
    // The broker is a detached JVM: stop it too (bounded), then leave.
    const broker = kafkaState ? destroyBroker(kafkaState).catch(() => {}) : Promise.resolve();
    const deadline = new Promise((r) => setTimeout(r, 15_000).unref());
    void Promise.race([Promise.all([broker, load.stop()]), deadline]).then(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const started = Date.now();
  const results: ScenarioResult[] = [];
  try {
    for (const name of opts.scenarios) {
      const scenario = SCENARIOS.find((s) => s.name === name)!;
      const t = Date.now();
      results.push(await scenario.run(ctx));
      log(`[${name}] done in ${Math.round((Date.now() - t) / 1000)} s`);
    }
  } finally {
    await load.stop();
    if (kafkaState) await destroyBroker(kafkaState).catch(() => {});
    killAllTracked();
  }
  const report = {
    command: `node --import tsx bench/run.ts ${process.argv.slice(2).join(' ')}`,
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? '', node: process.version },
    durationS: Math.round((Date.now() - started) / 1000),
    results,
  };
  const resultsDir = join(SWITCHYARD_ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = opts.out ?? join(resultsDir, `${report.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const text = [
      `Command: \`${report.command}\``,
      `Machine: ${report.machine.cpus} x ${report.machine.model}, Node ${report.machine.node}; run took ${report.durationS} s`,
      '',
      ...results.map(renderScenario),
      '### Targets',
      '',
      renderTargets(results),
      '',
    ].join('\n');
    process.stdout.write(text);
  }
  log(`results: ${file}; logs: ${dir}`);
  if (!opts.cpuProf) rmSync(join(dir, 'kafka'), { recursive: true, force: true });
}

main().catch((err: unknown) => {
  killAllTracked();
  process.stderr.write(`bench failed: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
