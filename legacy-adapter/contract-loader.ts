import { readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { defineContract, z } from '../compat/contracts/api.ts';
import type { LegacyContract } from '../compat/contracts/types.ts';
import { contractStreamProblems, type LegacyConfig } from './config.ts';

/**
 * User-owned contracts (LEGACY_CONTRACTS): modules of the user's repository, loaded at start-up
 * with a plain dynamic `import()`, so no compiler sits in the production path. A module's default
 * export is one contract or an array of them, or a function of `{ z, defineContract }` returning
 * either (a module with no imports, wherever it is mounted). `.js`, `.mjs` and `.cjs` always load; `.ts` loads
 * only where the runtime itself strips types (Node 22.18+, or under tsx in this repository's
 * development scripts): otherwise compile it first (docs/contracts.md).
 */

/** A loaded contract and the file it came from (the admin API lists it). */
export interface LoadedContract {
  readonly contract: LegacyContract;
  readonly file: string;
}

/** Contract registry by name. */
export type ContractRegistry = Readonly<Record<string, LegacyContract>>;

/** Thrown when a contract module cannot be used; `problems` each name the file. */
export class ContractLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid legacy contracts:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ContractLoadError';
  }
}

/** What a default-export function receives: the package's `switchyard/contract` API. */
const CONTRACT_KIT = Object.freeze({ z, defineContract });

const CONTRACT_NAME = /^[a-z][a-z0-9-]{0,47}$/;
const LOADABLE = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts']);

/** The bundled example (compat/contracts/live-map), as .ts in the repository and .js when built. */
export const EXAMPLE_CONTRACTS: readonly string[] = [
  new URL(`../compat/contracts/live-map${extname(new URL(import.meta.url).pathname)}`, import.meta.url)
    .pathname,
];

/**
 * The files named by LEGACY_CONTRACTS: each entry a module or a folder, whose loadable files
 * (not recursive; names starting with `_` or `.`, `.d.ts` and `*.test.*` are helpers) are taken
 * in name order.
 */
export function contractFiles(entries: readonly string[]): { files: string[]; problems: string[] } {
  const files: string[] = [];
  const problems: string[] = [];
  for (const given of entries) {
    const entry = resolve(given); // messages name the full path
    let st: ReturnType<typeof statSync>;
    try {
      st = statSync(entry);
    } catch {
      problems.push(`${entry}: no such file or folder (LEGACY_CONTRACTS)`);
      continue;
    }
    if (st.isDirectory()) {
      const names = readdirSync(entry)
        .filter(
          (n) =>
            LOADABLE.has(extname(n)) &&
            !/^[_.]/.test(n) &&
            !n.endsWith('.d.ts') &&
            !n.endsWith('.d.mts') &&
            !/\.test\./.test(n),
        )
        .sort();
      if (names.length === 0) problems.push(`${entry}: folder holds no contract module (.js, .mjs)`);
      for (const n of names) files.push(join(entry, n));
    } else if (!LOADABLE.has(extname(entry))) {
      problems.push(`${entry}: not a JavaScript module (expected .js, .mjs, .cjs or .ts)`);
    } else files.push(entry);
  }
  return { files, problems };
}

/** Problems with one exported value as a contract (empty: usable). */
export function contractShapeProblems(value: unknown): string[] {
  if (typeof value !== 'object' || value === null) return ['is not an object'];
  const c = value as Record<string, unknown>;
  const out: string[] = [];
  const name = typeof c.name === 'string' ? c.name : undefined;
  if (name === undefined || !CONTRACT_NAME.test(name))
    out.push(`name: expected a string matching ${CONTRACT_NAME.source}`);
  if (typeof c.route !== 'string' || !c.route.startsWith('/'))
    out.push('route: expected a path such as "/api/x.json"');
  if (typeof c.version !== 'number' || !Number.isInteger(c.version) || c.version < 0)
    out.push('version: expected an integer >= 0');
  const streams = c.streams;
  if (typeof streams !== 'object' || streams === null || Object.keys(streams).length === 0)
    out.push('streams: expected an object such as { orders: "feed", totals: "table" }');
  else
    for (const [s, mode] of Object.entries(streams))
      if (mode !== 'table' && mode !== 'feed')
        out.push(`streams.${s}: expected "table" or "feed", got ${JSON.stringify(mode)}`);
  if (typeof c.cacheControl !== 'string') out.push('cacheControl: expected a string');
  if (!Array.isArray(c.volatile) || !c.volatile.every((v) => typeof v === 'string'))
    out.push('volatile: expected an array of paths (strings)');
  if (
    c.arrayKeys !== undefined &&
    (typeof c.arrayKeys !== 'object' ||
      c.arrayKeys === null ||
      !Object.values(c.arrayKeys).every((v) => typeof v === 'string'))
  )
    out.push('arrayKeys: expected an object of path -> key field');
  const shape = c.shape as { safeParse?: unknown } | null | undefined;
  if (typeof shape !== 'object' || shape === null || typeof shape.safeParse !== 'function')
    out.push('shape: expected a zod schema (import { z } from "switchyard/contract")');
  if (typeof c.render !== 'function') out.push('render: expected a function (view) => body');
  if (c.asOf !== undefined && typeof c.asOf !== 'function')
    out.push('asOf: expected a function, or leave it out');
  return out;
}

/**
 * Imports every contract module, validates each export, and refuses duplicate names. All
 * problems are collected, each naming its file, so an operator fixes them in one go.
 */
export async function loadContracts(entries: readonly string[]): Promise<LoadedContract[]> {
  const { files, problems } = contractFiles(entries);
  const loaded: LoadedContract[] = [];
  const byName = new Map<string, string>();
  for (const file of files) {
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const hint =
        e.code === 'ERR_UNKNOWN_FILE_EXTENSION' && /\.m?ts$/.test(file)
          ? ' (this Node cannot run TypeScript: compile the contract to .js, or use Node 22.18+)'
          : '';
      problems.push(`${file}: failed to load: ${firstLine(e?.message ?? String(err))}${hint}`);
      continue;
    }
    let exported = mod.default;
    // `export default ({ z, defineContract }) => ({...})`: a contract needing no import at all,
    // wherever it is mounted (no node_modules to resolve `switchyard/contract` from).
    if (typeof exported === 'function') {
      try {
        exported = await (exported as (kit: typeof CONTRACT_KIT) => unknown)(CONTRACT_KIT);
      } catch (err) {
        problems.push(
          `${file}: the default export function threw: ${firstLine((err as Error)?.message ?? String(err))}`,
        );
        continue;
      }
    }
    if (exported === undefined) {
      problems.push(`${file}: no default export (export default a contract, or an array of contracts)`);
      continue;
    }
    const list = Array.isArray(exported) ? exported : [exported];
    list.forEach((value, i) => {
      const where = Array.isArray(exported) ? `${file} [${i}]` : file;
      const shape = contractShapeProblems(value);
      if (shape.length > 0) {
        for (const p of shape) problems.push(`${where}: ${p}`);
        return;
      }
      const contract = value as LegacyContract;
      const clash = byName.get(contract.name);
      if (clash !== undefined) {
        problems.push(`${where}: contract name "${contract.name}" is also defined in ${clash}`);
        return;
      }
      byName.set(contract.name, file);
      loaded.push({ contract, file });
    });
  }
  if (problems.length > 0) throw new ContractLoadError(problems);
  return loaded;
}

/** The registry the adapter uses: name -> contract. */
export function registryOf(loaded: readonly LoadedContract[]): ContractRegistry {
  return Object.freeze(Object.fromEntries(loaded.map((l) => [l.contract.name, l.contract])));
}

/**
 * What only the loaded contracts can tell: a `shadow` or `serve` route needs a known contract
 * (a `proxy` route needs none, unless it names one), and every route's contract must read
 * configured streams with their modes.
 */
export function routeContractProblems(
  legacy: Pick<LegacyConfig, 'routes'>,
  streams: readonly { name: string; mode: 'table' | 'feed' }[],
  registry: ContractRegistry,
): string[] {
  const problems: string[] = [];
  const known = Object.keys(registry).join(', ') || 'none loaded; see LEGACY_CONTRACTS';
  for (const r of legacy.routes) {
    const name = r.contract ?? r.name;
    const contract = Object.hasOwn(registry, name) ? registry[name] : undefined;
    if (!contract) {
      if (r.mode !== 'proxy' || r.contract !== null)
        problems.push(
          `LEGACY_ROUTES: route "${r.name}" (${r.mode}) needs contract "${name}", which is not loaded (known: ${known})`,
        );
      continue;
    }
    for (const p of contractStreamProblems(contract, streams)) problems.push(`LEGACY_ROUTES: ${p}`);
  }
  return problems;
}

/**
 * The user's contracts that no configured route uses, each as a start-up warning naming its file.
 * They loaded and have a contract's shape, but nothing else checks them until a route is switched
 * to one (PUT /v1/admin/routes/:name), so the streams they read are checked here too: a switch
 * to a contract reading an unconfigured stream would be refused. The bundled example, loaded when
 * LEGACY_CONTRACTS is not set, is not the user's and gives no warning.
 */
export function unusedContractWarnings(
  config: {
    legacy: Pick<LegacyConfig, 'routes' | 'contracts'>;
    streams: readonly { name: string; mode: 'table' | 'feed' }[];
  },
  loaded: readonly LoadedContract[],
): string[] {
  if (!config.legacy.contracts) return [];
  const used = new Set(config.legacy.routes.map((r) => r.contract ?? r.name));
  return loaded
    .filter((l) => !used.has(l.contract.name))
    .map((l) => {
      const problems = contractStreamProblems(l.contract, config.streams);
      return (
        `${l.file}: contract "${l.contract.name}" is loaded but no legacy route uses it (LEGACY_ROUTES)` +
        (problems.length > 0 ? `; a route switched to it would be refused: ${problems.join('; ')}` : '')
      );
    });
}

function firstLine(s: string): string {
  return s.split('\n')[0]?.slice(0, 300) ?? '';
}

/**
 * Start-up: loads LEGACY_CONTRACTS (or the bundled example) and checks the routes against them;
 * throws ContractLoadError listing every problem.
 */
export async function prepareContracts(config: {
  legacy: Pick<LegacyConfig, 'routes' | 'contracts'>;
  streams: readonly { name: string; mode: 'table' | 'feed' }[];
}): Promise<LoadedContract[]> {
  const loaded = await loadContracts(config.legacy.contracts ?? EXAMPLE_CONTRACTS);
  const problems = routeContractProblems(config.legacy, config.streams, registryOf(loaded));
  if (problems.length > 0) throw new ContractLoadError(problems);
  return loaded;
}
