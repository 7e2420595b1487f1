/**
 * `switchyard config check [FILE] [--flags]` and `switchyard config print [--config FILE] [--flags]`:
 * the configuration (file, then environment, then flags) validated as at start-up, contracts
 * loaded and checked too, with nothing started. Exit code 0 when valid, 2 when not.
 */

import { type CpuBudget, describeCpuBudget, readCpuBudget } from '../gateway/config/cpu-budget.ts';
import { printableSettings } from '../gateway/config/file.ts';
import { ConfigError } from '../gateway/config/load.ts';
import { loadSettings } from '../gateway/switchyard.ts';
import {
  ContractLoadError,
  prepareContracts,
  unusedContractWarnings,
} from '../legacy-adapter/contract-loader.ts';

const USAGE = `Usage:
  switchyard config check [FILE] [--name value ...]   validate FILE (default: --config, SWITCHYARD_CONFIG
                                                      or ./switchyard.config.json) with the environment and
                                                      flags, and load the contracts it names
  switchyard config print [--config FILE] [--name value ...]
                                                      print the effective settings as a config file, secrets masked
`;

/** `2 workers (one per whole core: ...)`: the worker count and where it came from. */
function workersLine(workers: number, set: boolean, kafka: boolean, budget: CpuBudget): string {
  const n = `${workers} worker${workers === 1 ? '' : 's'}`;
  if (set) return `${n} (WORKERS)`;
  return kafka ? `${n} (${describeCpuBudget(budget)})` : `${n} (the embedded demo feed runs one)`;
}

export async function configCommand(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  out: (s: string) => void,
  err: (s: string) => void,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'check' && sub !== 'print') {
    (sub === undefined || sub === '--help' ? out : err)(USAGE);
    return sub === '--help' ? 0 : 2;
  }
  // `check FILE`: the file is the first positional (the same as --config FILE).
  const args = [...rest];
  if (sub === 'check' && args[0] !== undefined && !args[0].startsWith('--'))
    args.splice(0, 1, '--config', args[0]);
  try {
    // Read once: the budget the worker count came from is the one described.
    const budget = readCpuBudget();
    const loaded = loadSettings(env, args, { discoverFile: true, cpuBudget: () => budget });
    const contracts = await prepareContracts(loaded.config);
    if (sub === 'print') {
      out(`${JSON.stringify(printableSettings(loaded.settings), null, 2)}\n`);
      return 0;
    }
    const { config } = loaded;
    for (const w of unusedContractWarnings(config, contracts)) err(`warning: ${w}\n`);
    out(
      `${loaded.file ?? '(no config file: environment and flags only)'}: valid ` +
        `(${config.streams.length} streams, ${config.legacy.routes.length} legacy routes, ` +
        `${contracts.length} contracts, source ${config.kafka ? 'Kafka' : 'embedded demo feed'}, ` +
        `${workersLine(config.workers, loaded.settings.WORKERS !== undefined, config.kafka !== null, budget)})\n`,
    );
    return 0;
  } catch (e) {
    if (e instanceof ConfigError || e instanceof ContractLoadError) {
      err(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
