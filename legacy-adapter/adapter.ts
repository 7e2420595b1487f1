import type { NextFunction, Request, Response } from 'express';
import type { LegacyContract } from '../compat/contracts/types.ts';
import { GatewayError } from '../gateway/errors.ts';
import type { GatewayView } from '../gateway/extension.ts';
import type { RouteSetting, RoutesDocument, RoutesState } from '../gateway/fleet/state.ts';
import { tagEndpoint } from '../gateway/observability/http-metrics.ts';
import type { Logger } from '../gateway/observability/logger.ts';
import type { GatewayMetrics } from '../gateway/observability/metrics.ts';
import { sendVersioned } from '../gateway/poll/send-body.ts';
import type { VersionedBody } from '../gateway/poll/versioned-body.ts';
import { TokenBucket } from '../gateway/util/token-bucket.ts';
import {
  contractProblem,
  contractStreamProblems,
  type LegacyGatewayConfig,
  type LegacyRouteConfig,
  modeProblem,
  type RouteMode,
} from './config.ts';
import type { ContractRegistry, LoadedContract } from './contract-loader.ts';
import { ContractRenderer, RenderError } from './contract-renderer.ts';
import { type FallbackReason, LegacyMetrics, OUTCOMES, type Outcome, type SkipReason } from './metrics.ts';
import { LegacyProxy } from './proxy.ts';
import { BodyCapture } from './shadow/capture.ts';
import { type Comparison, compareCaptured } from './shadow/compare.ts';
import { MismatchLog } from './shadow/mismatch-log.ts';
import { CompareQueue } from './shadow/queue.ts';
import type { ShadowQuery, ShadowReport, ShadowRouteView } from './shadow/report.ts';

/** The gateway parts the adapter reads per request: the gateway's read-only view. */
export type LegacyHost = GatewayView;

/** What the adapter is built from: the gateway's view, handed to the extension when it is built. */
export interface LegacyDeps {
  config: Pick<LegacyGatewayConfig, 'legacy' | 'streams'>;
  metrics: GatewayMetrics;
  logger: Logger;
  /** The gateway's read-only view (gateway/extension.ts). */
  host: LegacyHost;
  /**
   * Contracts by name, or as loaded from LEGACY_CONTRACTS (with their files, for the admin
   * API); default: none (proxy routes need none).
   */
  contracts?: ContractRegistry | readonly LoadedContract[] | undefined;
  /** Backend URL when only known at start (the demo on port 0); default: LEGACY_URL. */
  backendUrl?: string | undefined;
}

/** Per-route shadow statistics, as shown by the admin API. */
export interface ShadowStats {
  counts: Record<Outcome, number>;
  skipped: Record<SkipReason, number>;
  /** Drift with no newer data in the cache to explain it (see Comparison.explained). */
  unexplainedDrift: number;
  last: { at: number; outcome: Outcome; cacheAheadMs: number | null } | null;
}

/** A change asked for by `PUT /v1/admin/routes/:name`. */
export interface RoutePatch {
  mode?: unknown;
  contract?: unknown;
  sampleRate?: unknown;
}

/** One legacy route's live state: its mode can change at runtime, its name and path cannot. */
class LegacyRoute {
  mode: RouteMode;
  /** null: a proxy-only route (no contract loaded under its name). */
  contract: LegacyContract | null;
  sampleRate: number | null;
  changedAt: number | null = null;
  readonly stats: ShadowStats = {
    counts: Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>,
    skipped: { rate_limited: 0, queue_full: 0, not_ready: 0, not_modified: 0 },
    unexplainedDrift: 0,
    last: null,
  };
  private renderers = new Map<LegacyContract, ContractRenderer>();

  constructor(
    readonly name: string,
    readonly path: string,
    cfg: LegacyRouteConfig,
    contract: LegacyContract | null,
    private readonly makeRenderer: (route: string, c: LegacyContract) => ContractRenderer,
  ) {
    this.mode = cfg.mode;
    this.contract = contract;
    this.sampleRate = cfg.sampleRate;
  }

  /** The renderer of the current contract (one per contract, kept across switches). */
  get renderer(): ContractRenderer {
    const c = this.contract;
    if (c === null) throw new Error(`route "${this.name}" has no contract`); // modes refuse this first
    let r = this.renderers.get(c);
    if (!r) {
      r = this.makeRenderer(this.name, c);
      this.renderers.set(c, r);
    }
    return r;
  }
}

/** A route's shadow statistics as the admin API shows them (a copy). */
function shadowView(r: LegacyRoute): ShadowRouteView {
  return {
    ...r.stats.counts,
    unexplainedDrift: r.stats.unexplainedDrift,
    skipped: { ...r.stats.skipped },
    last: r.stats.last,
  };
}

/** Comparisons waiting to run; beyond it, samples are dropped (and counted). */
const SHADOW_QUEUE_CAPACITY = 32;
/** Recent non-matching comparisons kept with their bodies. */
const MISMATCH_LOG_CAPACITY = 50;

/**
 * The legacy routes: per route a mode (`proxy` / `shadow` / `serve`) changeable at runtime, the
 * proxy to the legacy backend, the shadow comparison machinery and its statistics.
 * `handle` is the request entry point; the admin API reads and changes the state.
 */
export class LegacyAdapter {
  readonly metrics: LegacyMetrics;
  readonly mismatches = new MismatchLog(MISMATCH_LOG_CAPACITY);
  readonly backendUrl: string | null;
  private readonly routes = new Map<string, LegacyRoute>();
  private readonly byPath = new Map<string, LegacyRoute>();
  private readonly proxy: LegacyProxy | null;
  private readonly queue: CompareQueue;
  private readonly contracts: ContractRegistry;
  private readonly contractFiles = new Map<string, string>();
  private readonly streams: LegacyDeps['config']['streams'];
  private readonly log: Logger;
  private readonly listeners = new Set<(c: Comparison) => void>();
  private readonly config: LegacyDeps['config']['legacy'];
  private readonly host: LegacyHost;
  /** Comparisons allowed per second, all routes together: shadow's CPU budget. */
  private readonly budget: TokenBucket;
  private routesVersion = 0;

  constructor(deps: LegacyDeps) {
    this.config = deps.config.legacy;
    this.streams = deps.config.streams;
    this.host = deps.host;
    // At most one second's worth of comparisons at once.
    const perSecond = this.config.shadowMaxPerSecond;
    this.budget = new TokenBucket({ perSecond, burst: perSecond, now: () => this.host.now() });
    const given = deps.contracts ?? {};
    if (Array.isArray(given)) {
      const loaded = given as readonly LoadedContract[];
      this.contracts = Object.freeze(Object.fromEntries(loaded.map((l) => [l.contract.name, l.contract])));
      for (const l of loaded) this.contractFiles.set(l.contract.name, l.file);
    } else this.contracts = given as ContractRegistry;
    this.log = deps.logger.child({ component: 'legacy' });
    this.metrics = new LegacyMetrics(deps.metrics.registry);
    this.backendUrl = deps.backendUrl ?? this.config.url;
    this.proxy =
      this.backendUrl === null
        ? null
        : new LegacyProxy({
            target: this.backendUrl,
            timeoutMs: this.config.timeoutMs,
            metrics: this.metrics,
            logger: deps.logger,
          });
    this.queue = new CompareQueue(SHADOW_QUEUE_CAPACITY, (err) =>
      this.log.error({ err }, 'shadow comparison failed'),
    );
    const makeRenderer = (route: string, c: LegacyContract) =>
      new ContractRenderer(
        c,
        this.host.selections.resolve(Object.keys(c.streams).join(',')),
        this.host.bodies,
        `legacy:${route}:${c.name}@${c.version}`,
        (err) =>
          this.log.warn({ route, err: err.message }, 'contract render failed; serving from the backend'),
      );
    for (const cfg of this.config.routes) {
      const name = cfg.contract ?? cfg.name;
      const contract = Object.hasOwn(this.contracts, name) ? this.contracts[name]! : null;
      // A proxy route needs no contract; any other needs the one it names (checked at start too).
      if (!contract && (cfg.mode !== 'proxy' || cfg.contract !== null))
        throw new Error(`route "${cfg.name}": ${contractProblem(name, this.contracts)}`);
      const route = new LegacyRoute(cfg.name, cfg.path, cfg, contract, makeRenderer);
      this.routes.set(cfg.name, route);
      this.byPath.set(cfg.path, route);
      this.metrics.setMode(cfg.name, cfg.mode);
    }
  }

  /** Express entry point for every request: answers the configured legacy paths, passes the rest. */
  readonly handle = (req: Request, res: Response, next: NextFunction) => {
    const route = this.byPath.get(req.path);
    if (!route) return next();
    tagEndpoint(res, 'legacy');
    const mode = route.mode;
    if (mode === 'serve') return this.serve(req, res, next, route);
    this.metrics.responses.inc({ route: route.name, mode, source: 'backend' });
    if (mode === 'shadow') return this.shadow(req, res, next, route);
    this.forward(req, res, next, route, null);
  };

  private forward(
    req: Request,
    res: Response,
    next: NextFunction,
    route: LegacyRoute,
    capture: BodyCapture | null,
  ) {
    if (!this.proxy) return next(new GatewayError('UPSTREAM_UNAVAILABLE', 'no legacy backend is configured'));
    this.proxy.forward(req, res, next, route.name, capture);
  }

  private shadow(req: Request, res: Response, next: NextFunction, route: LegacyRoute) {
    const host = this.host;
    const rate = route.sampleRate ?? this.config.shadowSampleRate;
    if (req.method !== 'GET' || rate <= 0 || host.random() >= rate)
      return this.forward(req, res, next, route, null);
    if (!this.budget.tryTake()) {
      this.skip(route, 'rate_limited');
      return this.forward(req, res, next, route, null);
    }
    const capture = new BodyCapture(this.config.maxBodyBytes);
    const contract = route.contract;
    if (contract === null) return this.forward(req, res, next, route, null);
    const renderer = route.renderer;
    // Everything below runs after the client has its answer.
    res.once('close', () => {
      // Nothing to compare: the backend was unreachable, or the client left (not the backend's doing).
      if (!capture.attached || (!res.writableFinished && !capture.cutByBackend)) return;
      const captured = capture.result();
      if (captured.status === 304) return this.skip(route, 'not_modified');
      if (!host.cache.isReady()) return this.skip(route, 'not_ready');
      const queued = this.queue.push(async () => {
        const result = await compareCaptured({
          route: route.name,
          contract,
          captured,
          maxBytes: this.config.maxBodyBytes,
          render: () => renderer.current(),
          now: host.now,
        });
        this.record(route, result);
      });
      if (!queued) this.skip(route, 'queue_full');
    });
    this.forward(req, res, next, route, capture);
  }

  private serve(req: Request, res: Response, next: NextFunction, route: LegacyRoute) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      this.metrics.responses.inc({ route: route.name, mode: 'serve', source: 'backend' });
      return this.forward(req, res, next, route, null);
    }
    // Answering from the cache must never expose more than the streams do: with stream tokens
    // on, a served legacy route needs a token allowing its contract's streams (docs/security.md).
    // Its path is configured and its mode changes at runtime, so the pipeline cannot know it:
    // the gateway's one stream authenticator is run here, as the pipeline runs it for /v1/stream.
    try {
      this.host.authenticateStream(req).assertAllows(route.renderer.selection.names);
    } catch (err) {
      return next(err);
    }
    let reason: FallbackReason | null = this.unservable();
    let body: VersionedBody | null = null;
    if (reason === null) {
      try {
        body = route.renderer.body();
      } catch (err) {
        if (!(err instanceof RenderError)) return next(err);
        reason = 'render-error';
      }
    }
    if (reason !== null || body === null) {
      const why = reason ?? 'render-error';
      this.metrics.fallbacks.inc({ route: route.name, reason: why });
      this.metrics.responses.inc({ route: route.name, mode: 'serve', source: 'backend' });
      res.setHeader('X-Switchyard-Fallback', why);
      return this.forward(req, res, next, route, null);
    }
    res.setHeader('Cache-Control', route.renderer.contract.cacheControl);
    res.setHeader('X-Switchyard-Source', 'cache');
    const sent = sendVersioned(req, res, body);
    this.metrics.responses.inc({ route: route.name, mode: 'serve', source: 'cache' });
    this.host.polls.answered(req, route.renderer.selection, sent.status);
  }

  /** Why `serve` cannot answer from the cache right now, or null when it can. */
  private unservable(): FallbackReason | null {
    const host = this.host;
    if (!host.cache.isReady()) return 'not-ready';
    const since = host.freshness().sinceFetchMs;
    if (since === null || since > this.config.staleLimitMs) return 'stale';
    return null;
  }

  private skip(route: LegacyRoute, reason: SkipReason): void {
    route.stats.skipped[reason]++;
    this.metrics.skipped.inc({ route: route.name, reason });
  }

  private record(route: LegacyRoute, c: Comparison): void {
    route.stats.counts[c.outcome]++;
    if (c.explained === false) route.stats.unexplainedDrift++;
    route.stats.last = { at: c.at, outcome: c.outcome, cacheAheadMs: c.cacheAheadMs };
    this.metrics.comparisons.inc({ route: route.name, outcome: c.outcome });
    if (c.cacheAheadMs !== null)
      this.metrics.cacheAhead.observe({ route: route.name }, c.cacheAheadMs / 1000);
    if (c.outcome !== 'match') this.mismatches.add(c);
    for (const l of this.listeners) l(c);
  }

  /** Subscribes to every finished comparison (tests, tooling); returns the unsubscribe. */
  onComparison(listener: (c: Comparison) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves when every queued comparison has run. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Route names, in config order. */
  names(): string[] {
    return [...this.routes.keys()];
  }

  /** The admin view of one route, or undefined for an unknown name. */
  describe(name: string): Record<string, unknown> | undefined {
    const r = this.routes.get(name);
    if (!r) return undefined;
    const serveFallback = this.unservable();
    return {
      name: r.name,
      path: r.path,
      mode: r.mode,
      contract: r.contract?.name ?? null,
      contractVersion: r.contract?.version ?? null,
      sampleRate: r.sampleRate ?? this.config.shadowSampleRate,
      sampleRateSource: r.sampleRate === null ? 'LEGACY_SHADOW_SAMPLE' : 'route',
      backend: this.backendUrl,
      version: this.routesVersion,
      changedAt: r.changedAt === null ? null : new Date(r.changedAt).toISOString(),
      // What `serve` would do now: answer from the cache, or fall back (and why).
      serve: serveFallback === null ? { fromCache: true } : { fromCache: false, fallback: serveFallback },
      shadow: shadowView(r),
    };
  }

  /**
   * This process's shadow statistics and recent mismatches (`GET /v1/admin/shadow` of one
   * process; the admin API merges those of every worker, see mergeShadowReports).
   */
  shadowReport(query: ShadowQuery): ShadowReport {
    const names = query.route === undefined ? this.names() : [query.route];
    const routes: ShadowReport['routes'] = {};
    for (const n of names) {
      const r = this.routes.get(n);
      routes[n] = r === undefined ? undefined : shadowView(r);
    }
    return { routes, mismatches: this.mismatches.entries(query.route, query.limit) };
  }

  /** The settings of every route as they are in force here: the document fleet state stores. */
  desired(): RoutesDocument {
    const out: RoutesDocument = {};
    for (const r of this.routes.values())
      out[r.name] = { mode: r.mode, contract: r.contract?.name ?? null, sampleRate: r.sampleRate };
    return out;
  }

  /** Version of the fleet's routes document in force here (0: as configured). */
  get version(): number {
    return this.routesVersion;
  }

  /**
   * Validates a change to one route, all or nothing, and returns the route's new setting (not
   * yet applied: the admin API publishes it as fleet state, and every process applies it).
   * Unknown route: 404; unknown mode or contract, or a contract whose streams are not
   * configured: 400 naming the value. `sampleRate: null` resets to LEGACY_SHADOW_SAMPLE.
   */
  validate(name: string, patch: RoutePatch): RouteSetting {
    const r = this.routes.get(name);
    if (!r)
      throw new GatewayError('NOT_FOUND', `no legacy route named ${JSON.stringify(name.slice(0, 64))}`, {
        details: { known: this.names() },
      });
    const problems: string[] = [];
    if (patch.mode !== undefined) {
      const p = modeProblem(patch.mode);
      if (p) problems.push(`mode: ${p}`);
    }
    let contract = r.contract;
    if (patch.contract !== undefined) {
      const p = contractProblem(patch.contract, this.contracts);
      if (p) problems.push(`contract: ${p}`);
      else {
        contract = this.contracts[patch.contract as string]!;
        for (const s of contractStreamProblems(contract, this.streams)) problems.push(`contract: ${s}`);
      }
    }
    const rate = patch.sampleRate;
    if (rate !== undefined && rate !== null && !(typeof rate === 'number' && rate >= 0 && rate <= 1))
      problems.push('sampleRate: expected a number from 0 to 1, or null for LEGACY_SHADOW_SAMPLE');
    if (problems.length > 0)
      throw new GatewayError('BAD_BODY', problems.join('; '), { details: { route: name, problems } });
    const nextMode = patch.mode === undefined ? r.mode : (patch.mode as RouteMode);
    if (contract === null && nextMode !== 'proxy')
      throw new GatewayError(
        'BAD_BODY',
        `route "${name}" has no contract: give one to switch it to ${nextMode} (known: ${Object.keys(this.contracts).join(', ') || 'none'})`,
        { details: { route: name } },
      );
    return {
      mode: nextMode,
      contract: contract?.name ?? null,
      sampleRate: rate === undefined ? r.sampleRate : (rate as number | null),
    };
  }

  /**
   * Puts the fleet's routes document in force on this process (called for every new version,
   * on every worker of every instance). Routes it does not name keep their configured setting;
   * a setting this process cannot apply (a contract it does not know) is logged and skipped.
   */
  applyDesired(state: RoutesState): void {
    this.routesVersion = state.version;
    for (const r of this.routes.values()) {
      const cfg = this.config.routes.find((c) => c.name === r.name)!;
      const want = state.routes[r.name] ?? {
        mode: cfg.mode,
        contract: cfg.contract ?? null,
        sampleRate: cfg.sampleRate,
      };
      const contract =
        want.contract === null
          ? null
          : Object.hasOwn(this.contracts, want.contract)
            ? this.contracts[want.contract]!
            : undefined;
      if (
        contract === undefined ||
        (contract === null && want.mode !== 'proxy') ||
        modeProblem(want.mode) !== null
      ) {
        this.log.warn(
          { route: r.name, want },
          'route setting from the fleet state not applicable here; kept',
        );
        continue;
      }
      if (r.mode === want.mode && r.contract === contract && r.sampleRate === want.sampleRate) continue;
      const from = { mode: r.mode, contract: r.contract?.name ?? null, sampleRate: r.sampleRate };
      r.mode = want.mode as RouteMode;
      r.contract = contract;
      r.sampleRate = want.sampleRate;
      r.changedAt = state.updatedAt ?? this.host.now();
      this.metrics.setMode(r.name, r.mode);
      this.log.info({ route: r.name, from, to: want, version: state.version }, 'legacy route changed');
    }
  }

  /**
   * The loaded contracts (admin API): name, version, the old path, streams, source file, the
   * routes using it (`unused` when none), and what would refuse a switch to it (`problems`).
   */
  contractList(): Record<string, unknown>[] {
    return Object.values(this.contracts).map((c) => {
      const usedBy = [...this.routes.values()].filter((r) => r.contract === c).map((r) => r.name);
      return {
        name: c.name,
        version: c.version,
        route: c.route,
        streams: c.streams,
        file: this.contractFiles.get(c.name) ?? null,
        usedBy,
        unused: usedBy.length === 0,
        problems: contractStreamProblems(c, this.streams),
      };
    });
  }

  /** Stops comparisons and closes the backend connections. */
  close(): void {
    this.queue.close();
    this.proxy?.close();
  }
}
