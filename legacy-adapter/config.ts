import { z } from 'zod';
import { liveMapContract } from '../compat/contracts/live-map.ts';
import type { LegacyContract } from '../compat/contracts/types.ts';
import type { ConfigPart } from '../gateway/config/config-part.ts';
import { parseListSpec } from '../gateway/config/list-spec.ts';
import type { Config } from '../gateway/config/load.ts';
import { int } from '../gateway/config/schema.ts';

/** How a legacy route answers; see docs/migration-guide.md. */
export const ROUTE_MODES = ['proxy', 'shadow', 'serve'] as const;
export type RouteMode = (typeof ROUTE_MODES)[number];

/** Route names are metric labels and URL segments: short, fixed by config. */
export const ROUTE_NAME = /^[a-z][a-z0-9-]{0,31}$/;
/** Literal paths only (no express patterns), outside the gateway's own namespace. */
const ROUTE_PATH = /^\/[A-Za-z0-9._~\-/]{0,200}$/;
const RESERVED_PATHS = /^\/(v1(\/|$)|healthz$|readyz$|metrics$)/;

/** One legacy route as configured (LEGACY_ROUTES). */
export interface LegacyRouteConfig {
  readonly name: string;
  readonly path: string;
  readonly mode: RouteMode;
  /** The contract named by the route; null: the route's name, and none needed in `proxy` mode. */
  readonly contract: string | null;
  /** Fraction of shadow requests compared; null: LEGACY_SHADOW_SAMPLE. */
  readonly sampleRate: number | null;
}

/** The legacy adapter's part of the gateway config. */
export interface LegacyConfig {
  /** Base URL of the legacy backend (LEGACY_URL); null when no route is configured. */
  readonly url: string | null;
  readonly timeoutMs: number;
  readonly shadowSampleRate: number;
  /** Comparisons per second at most, all routes together; samples beyond are skipped. */
  readonly shadowMaxPerSecond: number;
  readonly staleLimitMs: number;
  readonly maxBodyBytes: number;
  readonly routes: readonly LegacyRouteConfig[];
  /** Contract modules or folders (LEGACY_CONTRACTS); null: the bundled example (live-map). */
  readonly contracts: readonly string[] | null;
  /** The demo: run the reference backend in-process on this port, fed by the demo feed. */
  readonly demoBackend: { readonly port: number; readonly refreshMs: number } | null;
  /** Why the embedded demo runs without its legacy route (STREAMS lacks what it reads), else null. */
  readonly demoNote: string | null;
}

export const isRouteMode = (v: unknown): v is RouteMode => ROUTE_MODES.includes(v as RouteMode);

const MODES_TEXT = 'proxy, shadow or serve';

/** `unknown mode "x" (expected proxy, shadow or serve)`, or null when valid. */
export function modeProblem(mode: unknown): string | null {
  if (isRouteMode(mode)) return null;
  return `unknown mode ${JSON.stringify(String(mode).slice(0, 40))} (expected ${MODES_TEXT})`;
}

/** `unknown contract "x" (known: live-map)`, or null when known. */
export function contractProblem(
  name: unknown,
  contracts: Readonly<Record<string, LegacyContract>>,
): string | null {
  if (typeof name === 'string' && Object.hasOwn(contracts, name)) return null;
  return `unknown contract ${JSON.stringify(String(name).slice(0, 60))} (known: ${Object.keys(contracts).join(', ')})`;
}

/**
 * Problems with a contract's streams against the configured ones (names and modes), so a
 * route that could never render is refused at start rather than at the first request.
 */
export function contractStreamProblems(
  contract: LegacyContract,
  streams: readonly { name: string; mode: 'table' | 'feed' }[],
): string[] {
  const out: string[] = [];
  for (const [name, mode] of Object.entries(contract.streams)) {
    const s = streams.find((x) => x.name === name);
    if (!s) out.push(`contract "${contract.name}" reads stream "${name}", which STREAMS does not configure`);
    else if (s.mode !== mode)
      out.push(`contract "${contract.name}" reads stream "${name}" as a ${mode}, but it is a ${s.mode}`);
  }
  return out;
}

const routeSchema = z
  .object({
    name: z.string().regex(ROUTE_NAME, 'route name must match ^[a-z][a-z0-9-]{0,31}$'),
    path: z
      .string()
      .regex(ROUTE_PATH, 'route path must be a literal path such as /api/live-map.json')
      .refine((p) => !RESERVED_PATHS.test(p), 'route path must not be under /v1/ or a health/metrics path'),
    mode: z.string(),
    contract: z.string().optional(),
    sampleRate: z.number().min(0).max(1).optional(),
  })
  .strict();

/**
 * LEGACY_ROUTES, validated: names, paths, modes and contracts; every problem names the value.
 * The contract defaults to the route's name.
 */
export const legacyRoutesSchema = z
  .array(routeSchema)
  .max(64)
  .superRefine((routes, ctx) => {
    const names = new Set<string>();
    const paths = new Set<string>();
    for (const r of routes) {
      const m = modeProblem(r.mode);
      if (m) ctx.addIssue({ code: 'custom', message: `route "${r.name}": ${m}` });
      if (names.has(r.name))
        ctx.addIssue({ code: 'custom', message: `route name "${r.name}" is used twice` });
      if (paths.has(r.path))
        ctx.addIssue({ code: 'custom', message: `route path "${r.path}" is used twice` });
      names.add(r.name);
      paths.add(r.path);
    }
  })
  .transform((routes): LegacyRouteConfig[] =>
    routes.map((r) => ({
      name: r.name,
      path: r.path,
      mode: r.mode as RouteMode,
      contract: r.contract ?? null,
      sampleRate: r.sampleRate ?? null,
    })),
  );

/**
 * LEGACY_CONTRACTS: contract modules or folders, comma-separated (env, flag) or an array (config
 * file). Relative paths are resolved from the working directory (from the file's folder in a
 * config file); legacy-adapter/contract-loader.ts loads them.
 */
export const legacyContractsSchema = z
  .union([z.string(), z.array(z.string().min(1)).max(256)])
  .transform((v) =>
    (typeof v === 'string' ? v.split(',') : v).map((p) => p.trim()).filter((p) => p.length > 0),
  );

/**
 * Parses LEGACY_ROUTES: a JSON array of `{name, path, mode, contract?, sampleRate?}`, or the short
 * form `name:path:mode[:contract][,...]` (e.g. `live-map:/api/live-map.json:proxy`). `none`: no routes.
 */
export function parseLegacyRoutesSpec(raw: string): unknown {
  if (raw.trim() === 'none') return [];
  return parseListSpec(raw, ([name, path, mode, contract, ...rest], part) => {
    if (rest.length > 0 || mode === undefined)
      throw new Error(`"${part.slice(0, 80)}" is not name:path:mode[:contract]`);
    return contract === undefined ? { name, path, mode } : { name, path, mode, contract };
  });
}

/**
 * The demo's route: the reference endpoint, starting in proxy mode. Its contract is its name
 * (`live-map`, the bundled example), needed only once it is switched to shadow or serve.
 */
export const DEMO_LEGACY_ROUTES: readonly LegacyRouteConfig[] = [
  { name: 'live-map', path: '/api/live-map.json', mode: 'proxy', contract: null, sampleRate: null },
];

/** The LEGACY_* settings after schema validation (a slice of the env schema's output). */
export interface LegacyEnv {
  KAFKA_BROKERS?: string | undefined;
  STREAMS?: unknown;
  PORT: number;
  LEGACY_URL?: string | undefined;
  LEGACY_TIMEOUT_MS: number;
  LEGACY_SHADOW_SAMPLE: number;
  LEGACY_SHADOW_MAX_PER_SECOND: number;
  LEGACY_STALE_LIMIT_MS: number;
  LEGACY_MAX_BODY_BYTES: number;
  LEGACY_ROUTES?: LegacyRouteConfig[] | undefined;
  LEGACY_CONTRACTS?: string[] | undefined;
  LEGACY_DEMO_PORT: number;
  LEGACY_DEMO_REFRESH_MS: number;
}

/**
 * Builds the legacy config and checks what the schema alone cannot: a URL for the routes. (The
 * contracts are modules loaded at start: legacy-adapter/contract-loader.ts checks them.) The demo
 * (no KAFKA_BROKERS, no LEGACY_ROUTES; STREAMS may change if it keeps the `orders` feed and
 * `totals` table) gets the reference route and, without LEGACY_URL, the in-process reference backend.
 */
export function resolveLegacyConfig(
  e: LegacyEnv,
  streams: readonly { name: string; mode: 'table' | 'feed' }[],
): { legacy: LegacyConfig; problems: string[] } {
  const problems: string[] = [];
  // The embedded demo keeps its legacy route when only STREAMS changes, as long as the streams
  // still include what the route's contract reads; otherwise it says so at start (demoNote).
  let demo = e.KAFKA_BROKERS === undefined && e.LEGACY_ROUTES === undefined;
  let demoNote: string | null = null;
  if (demo && e.STREAMS !== undefined) {
    // The demo's one route renders the bundled live-map contract.
    const missing = contractStreamProblems(liveMapContract as LegacyContract, streams);
    if (missing.length > 0) {
      demo = false;
      demoNote = `the demo's legacy route ${DEMO_LEGACY_ROUTES[0]!.path} is off: ${missing[0]} (set LEGACY_ROUTES and LEGACY_URL to configure routes)`;
    }
  }
  const routes = e.LEGACY_ROUTES ?? (demo ? DEMO_LEGACY_ROUTES : []);
  const demoBackend =
    demo && e.LEGACY_URL === undefined
      ? { port: e.LEGACY_DEMO_PORT, refreshMs: e.LEGACY_DEMO_REFRESH_MS }
      : null;
  if (demoBackend && demoBackend.port !== 0 && demoBackend.port === e.PORT)
    problems.push(`LEGACY_DEMO_PORT: the demo's legacy backend needs a port other than PORT (${e.PORT})`);
  const url = e.LEGACY_URL ?? (demoBackend ? `http://127.0.0.1:${demoBackend.port}` : null);
  if (routes.length > 0 && url === null)
    problems.push('LEGACY_URL: required when LEGACY_ROUTES configures routes (the backend to proxy to)');
  return {
    legacy: {
      url,
      timeoutMs: e.LEGACY_TIMEOUT_MS,
      shadowSampleRate: e.LEGACY_SHADOW_SAMPLE,
      shadowMaxPerSecond: e.LEGACY_SHADOW_MAX_PER_SECOND,
      staleLimitMs: e.LEGACY_STALE_LIMIT_MS,
      maxBodyBytes: e.LEGACY_MAX_BODY_BYTES,
      routes,
      contracts: e.LEGACY_CONTRACTS ?? null,
      demoBackend,
      demoNote,
    },
    problems,
  };
}

/**
 * The legacy adapter's settings, keyed by environment variable as the core's (docs/configuration.md
 * documents them with the rest; the config file holds them under their camelCase names).
 */
export const legacySettingsShape = {
  /** Base URL of the legacy polling backend (legacy routes proxy to it). */
  LEGACY_URL: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://legacy:8081' })
    .optional(),
  /** The most a proxied legacy request may take, end to end, before a 504. */
  LEGACY_TIMEOUT_MS: int(100, 120_000).default(5000),
  /** Fraction (0..1) of requests on a `shadow` route that are also rendered and compared. */
  LEGACY_SHADOW_SAMPLE: z.coerce.number().min(0).max(1).default(0.1),
  /** At most this many shadow comparisons per second (the CPU budget of shadow mode). */
  LEGACY_SHADOW_MAX_PER_SECOND: int(1, 10_000).default(20),
  /** A `serve` route falls back to the backend when the source is silent for longer. */
  LEGACY_STALE_LIMIT_MS: int(1000, 3_600_000).default(30_000),
  /** Legacy bodies larger than this are not buffered for comparison (counted as legacy_error). */
  LEGACY_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(4 * 1024 * 1024),
  /** `name:path:mode[:contract],...` or a JSON array; `none` for no routes. */
  LEGACY_ROUTES: legacyRoutesSchema.optional(),
  /** Contract modules or folders of your own, comma-separated; unset: the bundled live-map example. */
  LEGACY_CONTRACTS: legacyContractsSchema.optional(),
  /** The demo's in-process reference backend: its port and refresh cadence. */
  LEGACY_DEMO_PORT: int(0, 65535).default(8081),
  LEGACY_DEMO_REFRESH_MS: int(100, 3_600_000).default(10_000),
};

/**
 * The legacy adapter's part of the gateway config: its LEGACY_* settings, the short form of
 * LEGACY_ROUTES, and `config.legacy` built from them. The composition (gateway/switchyard.ts)
 * passes it to loadConfig(); the core config knows nothing of it.
 */
export const legacyConfigPart: ConfigPart<'legacy', LegacyConfig> = {
  key: 'legacy',
  shape: legacySettingsShape,
  structured: ['LEGACY_ROUTES', 'LEGACY_CONTRACTS'],
  paths: ['LEGACY_CONTRACTS'],
  textForms: {
    LEGACY_ROUTES: {
      parse: parseLegacyRoutesSpec,
      hint: 'use name:path:mode[:contract],... or a JSON array',
    },
  },
  resolve: (settings, streams) => {
    const r = resolveLegacyConfig(settings as unknown as LegacyEnv, streams);
    return { value: r.legacy, problems: r.problems };
  },
};

/** A gateway config with the legacy adapter's part (what loadConfig returns given legacyConfigPart). */
export type LegacyGatewayConfig = Config & { readonly legacy: LegacyConfig };
