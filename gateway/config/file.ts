import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { ConfigPart } from './config-part.ts';
import { envSchema } from './schema.ts';

/**
 * The configuration file, `switchyard.config.json`: every setting of the environment, under its
 * camelCase name (`POLL_INTERVAL_MS` is `pollIntervalMs`, `LEGACY_ROUTES` is `legacyRoutes`),
 * validated by the same schema (gateway/config/schema.ts). Environment variables and then flags
 * override it. JSON, not YAML: Node reads it with no dependency in the production path, editors
 * check it, and a Kubernetes ConfigMap holds it as it is (docs/configuration.md).
 */

/** The file named by `--config FILE` or SWITCHYARD_CONFIG (flags win). */
export const CONFIG_FILE_ENV = 'SWITCHYARD_CONFIG';
/** The file `npx switchyard` picks up from the working directory when none is named. */
export const DEFAULT_CONFIG_FILE = 'switchyard.config.json';

/** Settings read from a config file, keyed by their environment name. */
export interface FileSettings {
  readonly path: string;
  readonly values: Record<string, unknown>;
  readonly problems: string[];
}

/** `POLL_INTERVAL_MS` -> `pollIntervalMs`. */
export const fileKeyOf = (envName: string): string =>
  envName.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** `pollIntervalMs` -> `POLL_INTERVAL_MS`. */
export const envNameOf = (fileKey: string): string => fileKey.replace(/([A-Z])/g, '_$1').toUpperCase();

/** The core's settings whose value is a structure in the file (the others are scalars or lists). */
const STRUCTURED = ['STREAMS'];

/**
 * Reads and shape-checks a config file: unknown keys, and values of the wrong kind, are
 * problems naming the file and the key; the values themselves are checked by the schema with
 * the rest. Relative paths inside it (contracts, stream schemas) are resolved from its folder.
 */
export function readConfigFile(path: string, parts: readonly ConfigPart[] = []): FileSettings {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    problems.push(
      e.code === 'ENOENT'
        ? `${path}: no such config file`
        : `${path}: not valid JSON (${(e.message ?? String(err)).split('\n')[0]})`,
    );
    return { path, values, problems };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(`${path}: expected a JSON object of settings, such as {"port": 8080}`);
    return { path, values, problems };
  }
  const base = dirname(resolve(path));
  const shape: Record<string, unknown> = Object.assign({}, envSchema.shape, ...parts.map((p) => p.shape));
  const known = Object.keys(shape);
  const structured = new Set([...STRUCTURED, ...parts.flatMap((p) => p.structured ?? [])]);
  for (const [key, value] of Object.entries(raw)) {
    if (key === '$schema') continue;
    const name = envNameOf(key);
    if (!Object.hasOwn(shape, name) || fileKeyOf(name) !== key) {
      const near = nearestKey(key, known.map(fileKeyOf));
      problems.push(`${path}: ${key}: unknown setting${near ? ` (did you mean "${near}"?)` : ''}`);
      continue;
    }
    if (value === null) continue;
    if (structured.has(name)) values[name] = value;
    else if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number'))
      values[name] = value.join(',');
    // Scalars as the environment would hold them: the schema parses variables (`true`, `5000`).
    else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      values[name] = String(value);
    else problems.push(`${path}: ${key}: expected a string, number, boolean or list, not an object`);
  }
  resolvePaths(
    values,
    base,
    parts.flatMap((p) => p.paths ?? []),
  );
  return { path, values, problems };
}

/**
 * Relative paths in a file (stream schemas, `*_FILE` settings, the parts' path lists such as
 * contracts) are relative to the file.
 */
function resolvePaths(values: Record<string, unknown>, base: string, pathLists: readonly string[]): void {
  const abs = (p: unknown) => (typeof p === 'string' && p !== '' && !isAbsolute(p) ? resolve(base, p) : p);
  for (const name of Object.keys(values)) if (name.endsWith('_FILE')) values[name] = abs(values[name]);
  for (const name of pathLists) {
    const list = values[name];
    if (Array.isArray(list)) values[name] = list.map(abs);
    else if (typeof list === 'string') values[name] = list.split(',').map((p) => abs(p.trim()));
  }
  const streams = values.STREAMS;
  if (Array.isArray(streams))
    values.STREAMS = streams.map((s: unknown) =>
      typeof s === 'object' && s !== null && 'schema' in s ? { ...s, schema: abs(s.schema) } : s,
    );
}

/**
 * The config file to read: `--config FILE`, else SWITCHYARD_CONFIG, else (when `discover`)
 * `switchyard.config.json` in the working directory if there is one; null: none.
 */
export function configFilePath(
  env: Record<string, string | undefined>,
  flags: Record<string, string>,
  discover = false,
): string | null {
  const named = flags.CONFIG ?? env[CONFIG_FILE_ENV];
  if (named !== undefined && named !== '') return resolve(named);
  if (discover && existsSync(DEFAULT_CONFIG_FILE)) return resolve(DEFAULT_CONFIG_FILE);
  return null;
}

/** Names whose values are never printed (config print, error messages). */
export const isSecretSetting = (envName: string): boolean =>
  /TOKEN|SECRET|PASSWORD|USERNAME|CREDENTIAL|KEY$/.test(envName);

/**
 * The effective settings in config-file form (camelCase keys, defaults filled in), secrets
 * masked, for `switchyard config print`.
 */
export function printableSettings(parsed: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed)) {
    if (value === undefined) continue;
    out[fileKeyOf(name)] = isSecretSetting(name) ? '********' : maskUrl(dropNulls(value));
  }
  return out;
}

function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== null)
        .map(([k, x]) => [k, dropNulls(x)]),
    );
  return v;
}

/** `http://user:pass@host` -> `http://user:********@host`. */
function maskUrl(v: unknown): unknown {
  return typeof v === 'string' ? v.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]+:)[^@/]+@/i, '$1********@') : v;
}

/** The known key a mistyped one most likely meant: same letters, or at most 2 edits away. */
function nearestKey(key: string, keys: readonly string[]): string | undefined {
  const norm = (k: string) => k.toLowerCase().replace(/[_-]/g, '');
  let best: { key: string; d: number } | undefined;
  for (const k of keys) {
    const d = norm(k) === norm(key) ? 0 : editDistance(norm(k), norm(key));
    if (d <= 2 && (best === undefined || d < best.d)) best = { key: k, d };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}
