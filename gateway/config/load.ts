import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import { recordSchemaProblems } from '../formats/record-schema.ts';
import type { RegistryConfig } from '../formats/registry-client.ts';
import type { ConfigPart, PartsConfig } from './config-part.ts';
import { type CpuBudget, readCpuBudget, workersFor } from './cpu-budget.ts';
import { configFilePath, fileKeyOf, readConfigFile } from './file.ts';
import type { CodecName, ProducerCompression } from './kafka-codec-names.ts';
import { type KafkaConnectionConfig, kafkaConfig } from './kafka-config.ts';
import { type EnvOutput, envSchema } from './schema.ts';
import { type SecurityConfig, securityConfig } from './security-config.ts';
import { parseStreamsSpec, type StreamConfig } from './streams.ts';

/** The validated, frozen configuration of one gateway process. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** null: run on the embedded demo feed. */
  readonly kafka:
    | (KafkaConnectionConfig & {
        /** Codecs decoded on fetch (uncompressed batches always are). */
        readonly codecs: readonly CodecName[];
        /** Codec of the gateway's own producers (DLQ, rollout). */
        readonly compression: ProducerCompression;
      })
    | null;
  readonly streams: readonly StreamConfig[];
  readonly staleAfterMs: number;
  readonly pollIntervalMs: number;
  readonly heartbeatMs: number;
  readonly retryMs: number;
  readonly historySize: number;
  /** Keep updates applied within this window too (ms; 0: count only). */
  readonly historyMaxAgeMs: number;
  /** Ceiling of the history in records (at least historySize). */
  readonly historyMaxRecords: number;
  readonly clientBufferBytes: number;
  readonly maxStreamsPerRequest: number;
  readonly demoRate: number;
  readonly shutdownDrainMs: number;
  /** Worker processes (node:cluster); 1 runs in this process (gateway/cluster.ts). */
  readonly workers: number;
  /** This instance's name in the fleet (SWITCHYARD_INSTANCE; default `<hostname>:<PORT>`). */
  readonly instance: string;
  /** Overload caps and event-loop shedding (gateway/overload/). */
  readonly overload: {
    readonly maxStreams: number;
    readonly maxStreamsPerIp: number;
    readonly maxEventLoopLagMs: number;
  };
  readonly admin: { readonly token: string | null; readonly readToken: string | null };
  /** Stream tokens, CORS, request limits, dead-letter topic: gateway/security/, docs/security.md. */
  readonly security: SecurityConfig;
  /**
   * Transport rollout: the control topic (Kafka only; null: `ROLLOUT_TOPIC=none`, rules in
   * memory), whether to create it when missing, and the share streaming before any rules.
   */
  readonly rollout: {
    readonly topic: string | null;
    readonly createTopic: boolean;
    readonly initialPercent: number;
  };
  /** The Schema Registry of registry-format streams (docs/schema-registry.md); null: none set. */
  readonly schemaRegistry: RegistryConfig | null;
}

/** Streams of the embedded demo (and of the Kafka demo, on these topics). */
export const DEMO_STREAMS = 'orders:feed:switchyard.demo.orders,totals:table:switchyard.demo.totals';

/** Thrown on invalid configuration; `message` lists every problem with the variable to fix. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `--poll-interval-ms 5000` / `--poll-interval-ms=5000` -> { POLL_INTERVAL_MS: '5000' }. */
export function flagsToEnv(argv: readonly string[]): Record<string, string> {
  const { tokens } = parseArgs({ args: [...argv], strict: false, tokens: true, allowPositionals: true });
  const out: Record<string, string> = {};
  const list = tokens ?? [];
  for (let i = 0; i < list.length; i++) {
    const t = list[i];
    if (t?.kind !== 'option') continue;
    const name = t.name.replace(/-/g, '_').toUpperCase();
    let value = t.value;
    const next = list[i + 1];
    if (value === undefined && next?.kind === 'positional') {
      value = next.value;
      i++;
    }
    out[name] = value ?? 'true';
  }
  return out;
}

/** Positionals that are not the value of a preceding `--flag` (e.g. `main.ts 8080`). */
function unexpectedPositionals(argv: readonly string[]): string[] {
  const { tokens } = parseArgs({ args: [...argv], strict: false, tokens: true, allowPositionals: true });
  const out: string[] = [];
  const list = tokens ?? [];
  for (let i = 0; i < list.length; i++) {
    const t = list[i]!;
    const prev = list[i - 1];
    if (t.kind !== 'positional') continue;
    if (prev?.kind === 'option' && prev.value === undefined && !prev.inlineValue) continue;
    out.push(t.value);
  }
  return out;
}

/** Where the config file is looked for (gateway/config/file.ts), and the extensions' settings. */
export interface LoadOptions<P extends readonly ConfigPart[] = readonly ConfigPart[]> {
  /** Read `switchyard.config.json` from the working directory when no file is named (the CLI). */
  discoverFile?: boolean;
  /**
   * The extensions' parts of the config (the legacy adapter's LEGACY_*), validated and reported
   * with the core's settings; each lands in the config under its key. Passed by the composition
   * (gateway/switchyard.ts), since the core knows no extension.
   */
  parts?: P;
  /**
   * The cores the default worker count is worked out from (WORKERS unset, Kafka on); read from
   * the kernel when absent (cpu-budget.ts). Tests pass one to stay independent of the machine.
   */
  cpuBudget?: () => CpuBudget;
}

/**
 * The settings schema: the core's, with the parts' settings added. A part may not redefine a
 * setting (the core's or another part's): that is a bug of the composition, thrown at once.
 */
export function settingsSchema(parts: readonly ConfigPart[] = []) {
  const seen = new Set(Object.keys(envSchema.shape));
  for (const part of parts)
    for (const name of Object.keys(part.shape)) {
      if (seen.has(name)) throw new Error(`config part "${part.key}" redefines the setting ${name}`);
      seen.add(name);
    }
  return parts.length === 0 ? envSchema : envSchema.extend(Object.assign({}, ...parts.map((p) => p.shape)));
}

/** The validated config, and the settings it was built from (`switchyard config print`). */
export interface LoadedSettings<C extends Config = Config> {
  readonly config: C;
  readonly settings: Record<string, unknown>;
  /** The config file read, if any. */
  readonly file: string | null;
}

/**
 * Validates the environment (and CLI flags, which win) once at start-up. Unknown variables are
 * ignored (the environment holds many); every known one is checked, and all problems are
 * reported together so an operator fixes them in one go.
 */
export function loadConfig<P extends readonly ConfigPart[] = readonly []>(
  env: Record<string, string | undefined>,
  argv: readonly string[] = [],
  opts: LoadOptions<P> = {},
): Config & PartsConfig<P> {
  return loadSettings(env, argv, opts).config;
}

/**
 * loadConfig(), keeping the settings: a config file (`--config FILE`, SWITCHYARD_CONFIG), then
 * the environment, then flags, each overriding the one before.
 */
export function loadSettings<P extends readonly ConfigPart[] = readonly []>(
  env: Record<string, string | undefined>,
  argv: readonly string[] = [],
  opts: LoadOptions<P> = {},
): LoadedSettings<Config & PartsConfig<P>> {
  const parts: readonly ConfigPart[] = opts.parts ?? [];
  const schema = settingsSchema(parts);
  const flags = flagsToEnv(argv);
  const filePath = configFilePath(env, flags, opts.discoverFile);
  const file = filePath === null ? null : readConfigFile(filePath, parts);
  const merged: Record<string, unknown> = { ...file?.values, ...env, ...flags };
  const problems: string[] = [...(file?.problems ?? [])];
  // A problem with a value from the file names the file and its key there.
  const fromFile = (name: string) =>
    file !== null && Object.hasOwn(file.values, name) && env[name] === undefined && flags[name] === undefined;
  // A mistyped flag must not be ignored the way unrelated environment variables are.
  for (const name of Object.keys(flags))
    if (!Object.hasOwn(schema.shape, name) && name !== 'CONFIG')
      problems.push(
        `--${name.toLowerCase().replace(/_/g, '-')}: unknown flag (flags mirror the variables of docs/configuration.md)`,
      );
  for (const arg of unexpectedPositionals(argv))
    problems.push(`${arg.slice(0, 80)}: unexpected argument (use --name value)`);
  if (typeof merged.STREAMS === 'string') {
    try {
      merged.STREAMS = parseStreamsSpec(merged.STREAMS);
    } catch (err) {
      problems.push(
        `STREAMS: not valid JSON (${(err as Error).message}); use a JSON array or name:mode:topic,...`,
      );
      delete merged.STREAMS; // reported once, not again as "expected array"
    }
  }
  for (const part of parts)
    for (const [name, form] of Object.entries(part.textForms ?? {})) {
      const raw = merged[name];
      if (typeof raw !== 'string' || raw === '') continue;
      try {
        merged[name] = form.parse(raw);
      } catch (err) {
        problems.push(`${name}: ${(err as Error).message}; ${form.hint}`);
        delete merged[name]; // reported once, not again by the schema as "expected array"
      }
    }
  for (const key of Object.keys(merged)) if (merged[key] === '') delete merged[key];
  const parsed = schema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(String).join('.');
      const got = issue.path[0] !== undefined ? merged[String(issue.path[0])] : undefined;
      // Secrets are never echoed: this message goes to stderr and from there to log collectors.
      const secret = /TOKEN|SECRET|PASSWORD|USERNAME/.test(path);
      const shown = typeof got === 'string' && !secret ? ` (got "${got.slice(0, 80)}")` : '';
      const top = String(issue.path[0] ?? '');
      const where =
        file !== null && fromFile(top)
          ? `${file.path}: ${[fileKeyOf(top), ...issue.path.slice(1).map(String)].join('.')}`
          : path || 'config';
      problems.push(`${where}: ${issue.message}${issue.path.length === 1 ? shown : ''}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const settings: Record<string, unknown> = parsed.data;
  // The core's settings, as the core's schema typed them (the parts' are read by the parts).
  const e = parsed.data as EnvOutput;
  const streams = e.STREAMS ?? defaultStreams();
  const extensions: Record<string, unknown> = {};
  for (const part of parts) {
    const resolved = part.resolve(settings, streams);
    if (resolved.problems.length > 0) throw new ConfigError(resolved.problems);
    extensions[part.key] = resolved.value;
  }
  const schemaProblems = recordSchemaProblems(streams);
  if (schemaProblems.length > 0) throw new ConfigError(schemaProblems);
  const registry = resolveSchemaRegistry(e, streams);
  if (registry.problems.length > 0) throw new ConfigError(registry.problems);
  const kafkaProblems: string[] = [];
  const kafka = kafkaConfig(e, kafkaProblems);
  if (kafkaProblems.length > 0) throw new ConfigError(kafkaProblems);
  const core: Config = {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    kafka: kafka
      ? {
          ...kafka,
          codecs: e.KAFKA_CODECS.split(',').filter((c): c is CodecName => c !== ''),
          compression: e.KAFKA_COMPRESSION,
        }
      : null,
    streams,
    staleAfterMs: e.STALE_AFTER_MS,
    pollIntervalMs: e.POLL_INTERVAL_MS,
    heartbeatMs: e.HEARTBEAT_MS,
    retryMs: e.RETRY_MS,
    historySize: e.HISTORY_SIZE,
    historyMaxAgeMs: e.HISTORY_SECONDS * 1000,
    historyMaxRecords: Math.max(e.HISTORY_SIZE, e.HISTORY_MAX_RECORDS),
    clientBufferBytes: e.CLIENT_BUFFER_BYTES,
    maxStreamsPerRequest: e.MAX_STREAMS_PER_REQUEST,
    demoRate: e.DEMO_RATE,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    workers: e.WORKERS ?? (e.KAFKA_BROKERS ? workersFor((opts.cpuBudget ?? readCpuBudget)()) : 1),
    instance: e.SWITCHYARD_INSTANCE ?? `${hostname()}:${e.PORT}`,
    overload: {
      maxStreams: e.MAX_STREAMS,
      maxStreamsPerIp: e.MAX_STREAMS_PER_IP,
      maxEventLoopLagMs: e.MAX_EVENT_LOOP_LAG_MS,
    },
    admin: { token: e.ADMIN_TOKEN ?? null, readToken: e.ADMIN_READ_TOKEN ?? null },
    security: securityConfig(e),
    rollout: {
      topic: e.ROLLOUT_TOPIC === 'none' ? null : e.ROLLOUT_TOPIC,
      createTopic: e.ROLLOUT_CREATE_TOPIC,
      initialPercent: Math.round(e.ROLLOUT_PERCENT * 100) / 100,
    },
    schemaRegistry: registry.config,
  };
  const config = { ...core, ...extensions } as Config & PartsConfig<P>;
  return { config: deepFreeze(config), settings, file: file?.path ?? null };
}

/** Registry settings, with the files they name read now (a missing secret stops the start, not the first record). */
function resolveSchemaRegistry(
  e: EnvOutput,
  streams: readonly StreamConfig[],
): { config: RegistryConfig | null; problems: string[] } {
  const problems: string[] = [];
  const needing = streams.filter((s) => s.format !== 'json' || s.keyFormat !== 'string').map((s) => s.name);
  const url = e.SCHEMA_REGISTRY_URL;
  if (url === undefined) {
    if (needing.length > 0)
      problems.push(
        `SCHEMA_REGISTRY_URL: required by stream(s) ${needing.join(', ')} (format or keyFormat other than json/string)`,
      );
    return { config: null, problems };
  }
  if (e.SCHEMA_REGISTRY_PASSWORD !== undefined && e.SCHEMA_REGISTRY_PASSWORD_FILE !== undefined)
    problems.push('SCHEMA_REGISTRY_PASSWORD_FILE: set either it or SCHEMA_REGISTRY_PASSWORD, not both');
  let password = e.SCHEMA_REGISTRY_PASSWORD ?? null;
  if (e.SCHEMA_REGISTRY_PASSWORD_FILE !== undefined) {
    try {
      password = readFileSync(e.SCHEMA_REGISTRY_PASSWORD_FILE, 'utf8').replace(/[\r\n]+$/, '');
      if (password === '') problems.push('SCHEMA_REGISTRY_PASSWORD_FILE: the file is empty');
    } catch (err) {
      problems.push(
        `SCHEMA_REGISTRY_PASSWORD_FILE: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  const username = e.SCHEMA_REGISTRY_USERNAME ?? null;
  if ((username === null) !== (password === null))
    problems.push('SCHEMA_REGISTRY_USERNAME: basic auth needs both a username and a password (or _FILE)');
  let ca: string | null = null;
  if (e.SCHEMA_REGISTRY_CA_FILE !== undefined) {
    try {
      ca = readFileSync(e.SCHEMA_REGISTRY_CA_FILE, 'utf8');
      if (!ca.includes('-----BEGIN CERTIFICATE-----'))
        problems.push('SCHEMA_REGISTRY_CA_FILE: expected PEM certificates (-----BEGIN CERTIFICATE-----)');
    } catch (err) {
      problems.push(
        `SCHEMA_REGISTRY_CA_FILE: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    if (!url.startsWith('https:'))
      problems.push('SCHEMA_REGISTRY_CA_FILE: only used with an https SCHEMA_REGISTRY_URL');
  }
  return { config: { url, username, password, ca, timeoutMs: e.SCHEMA_REGISTRY_TIMEOUT_MS }, problems };
}

function defaultStreams(): StreamConfig[] {
  const parsed = envSchema.shape.STREAMS.parse(parseStreamsSpec(DEMO_STREAMS));
  if (!parsed) throw new Error('demo streams missing');
  return parsed;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
