import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import {
  type LegacyConfig,
  parseLegacyRoutesSpec,
  resolveLegacyConfig,
} from '../../legacy-adapter/config.ts';
import { recordSchemaProblems } from '../security/record-schema.ts';
import { type SecurityConfig, securityConfig } from '../security/security-config.ts';
import { envSchema } from './schema.ts';
import { parseStreamsSpec, type StreamConfig } from './streams.ts';

/** The validated, frozen configuration of one gateway process. */
export interface Config {
  readonly host: string;
  readonly port: number;
  readonly logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** null: run on the embedded demo feed. */
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    readonly connectTimeoutMs: number;
    readonly maxRetryMs: number;
  } | null;
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
  /** Overload caps and event-loop shedding (gateway/overload/). */
  readonly overload: {
    readonly maxStreams: number;
    readonly maxStreamsPerIp: number;
    readonly maxEventLoopLagMs: number;
  };
  readonly admin: { readonly token: string | null; readonly readToken: string | null };
  /** Stream tokens, CORS, request limits, dead-letter topic: gateway/security/, docs/security.md. */
  readonly security: SecurityConfig;
  /** Transport rollout: the control topic (Kafka only) and the share streaming before any rules. */
  readonly rollout: { readonly topic: string; readonly initialPercent: number };
  /** Legacy routes (proxy / shadow / serve) and their backend: legacy-adapter/config.ts. */
  readonly legacy: LegacyConfig;
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

/**
 * Validates the environment (and CLI flags, which win) once at start-up. Unknown variables are
 * ignored (the environment holds many); every known one is checked, and all problems are
 * reported together so an operator fixes them in one go.
 */
export function loadConfig(env: Record<string, string | undefined>, argv: readonly string[] = []): Config {
  const flags = flagsToEnv(argv);
  const merged: Record<string, unknown> = { ...env, ...flags };
  const problems: string[] = [];
  // A mistyped flag must not be ignored the way unrelated environment variables are.
  for (const name of Object.keys(flags))
    if (!Object.hasOwn(envSchema.shape, name))
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
  if (typeof merged.LEGACY_ROUTES === 'string' && merged.LEGACY_ROUTES !== '') {
    try {
      merged.LEGACY_ROUTES = parseLegacyRoutesSpec(merged.LEGACY_ROUTES);
    } catch (err) {
      problems.push(
        `LEGACY_ROUTES: ${(err as Error).message}; use name:path:mode[:contract],... or a JSON array`,
      );
    }
  }
  for (const key of Object.keys(merged)) if (merged[key] === '') delete merged[key];
  const parsed = envSchema.safeParse(merged);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(String).join('.');
      const got = issue.path[0] !== undefined ? merged[String(issue.path[0])] : undefined;
      // Secrets are never echoed: this message goes to stderr and from there to log collectors.
      const secret = /TOKEN|SECRET/.test(path);
      const shown = typeof got === 'string' && !secret ? ` (got "${got.slice(0, 80)}")` : '';
      problems.push(`${path || 'config'}: ${issue.message}${issue.path.length === 1 ? shown : ''}`);
    }
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  const e = parsed.data;
  const streams = e.STREAMS ?? defaultStreams();
  const legacy = resolveLegacyConfig(e, streams);
  if (legacy.problems.length > 0) throw new ConfigError(legacy.problems);
  const schemaProblems = recordSchemaProblems(streams);
  if (schemaProblems.length > 0) throw new ConfigError(schemaProblems);
  const config: Config = {
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    kafka: e.KAFKA_BROKERS
      ? {
          brokers: e.KAFKA_BROKERS.split(','),
          clientId: e.KAFKA_CLIENT_ID,
          connectTimeoutMs: e.KAFKA_CONNECT_TIMEOUT_MS,
          maxRetryMs: e.KAFKA_MAX_RETRY_MS,
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
    workers: e.WORKERS ?? (e.KAFKA_BROKERS ? availableParallelism() : 1),
    overload: {
      maxStreams: e.MAX_STREAMS,
      maxStreamsPerIp: e.MAX_STREAMS_PER_IP,
      maxEventLoopLagMs: e.MAX_EVENT_LOOP_LAG_MS,
    },
    admin: { token: e.ADMIN_TOKEN ?? null, readToken: e.ADMIN_READ_TOKEN ?? null },
    security: securityConfig(e),
    rollout: { topic: e.ROLLOUT_TOPIC, initialPercent: Math.round(e.ROLLOUT_PERCENT * 100) / 100 },
    legacy: legacy.legacy,
  };
  return deepFreeze(config);
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
