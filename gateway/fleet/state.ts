import { GatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { type CompiledRules, compileRules, type RolloutRules, rulesSchema } from '../rollout/rules.ts';
import type { RolloutStore, RulesRecord } from '../rollout/store.ts';
import type { ControlLog, ControlRecord } from './control-log.ts';

/** The keys of the control log holding admin state; each is versioned on its own. */
export const RULES_KEY = 'rules';
export const ROUTES_KEY = 'routes';
/** `applied:<process>`: which versions a process has in force (one record per process). */
export const APPLIED_PREFIX = 'applied:';

/** The desired state of one legacy route, as stored (null sampleRate: LEGACY_SHADOW_SAMPLE). */
export interface RouteSetting {
  mode: string;
  /** null: no contract (a `proxy` route needs none). */
  contract: string | null;
  sampleRate: number | null;
}
export type RoutesDocument = Record<string, RouteSetting>;

export interface RoutesState {
  routes: RoutesDocument;
  /** Offset + 1 of the record in force; 0: the configured routes, never changed. */
  version: number;
  updatedAt: number | null;
}

/** What one process reports having in force. */
export interface AppliedReport {
  process: string;
  instance: string;
  worker: number;
  pid: number;
  versions: { rules: number; routes: number };
  at: number;
}

/** Who this process is, as named in `GET /v1/admin/fleet` and the `X-Switchyard-Worker` header. */
export interface ProcessIdentity {
  /** The instance (SWITCHYARD_INSTANCE, default `<hostname>:<PORT>`). */
  instance: string;
  /** 0 without workers, else the worker's index (1..WORKERS), stable across respawns. */
  worker: number;
}

export function processName(id: ProcessIdentity): string {
  return `${id.instance}/${id.worker}`;
}

/** How often a process repeats its applied report, changed or not: the fleet view's liveness. */
export const REPORT_EVERY_MS = 30_000;
/** A report this many intervals old is `stale` (its process missed three heartbeats: crashed or cut off). */
const STALE_AFTER_REPORTS = 3;
/** A report this many intervals old is no longer listed (the process is gone; its name may come back). */
const FORGET_AFTER_REPORTS = 10;

/** A process in the fleet view: its last report, and whether that report is too old to trust. */
export type ProcessView = AppliedReport & { stale: boolean };

/** How long a write waits for the log to be read after a start before answering 503. */
const LOAD_WAIT_MS = 5000;
/** How long a writer waits for its own record to come back through the log. */
const ROUND_TRIP_TIMEOUT_MS = 10_000;

interface Pending {
  resolve: (accepted: boolean) => void;
}

/**
 * Every piece of admin state (rollout rules, legacy route modes and sample rates, the kill
 * switch) as fleet state: one record per key in an ordered log that every process reads
 * from the beginning, so all processes apply the same records in the same order and agree.
 *
 * Conflict rule (compare-and-set): a record carries `basedOn`, the version its writer had read.
 * A reader applies it only if `basedOn` is still the version in force (or newer: older records
 * removed by compaction); otherwise it is a lost race and every reader ignores it alike. A
 * writer waits until its own record comes back through the log and answers 409 if it lost. A
 * version is the record's offset + 1, so versions only grow. The loser re-appends the winning
 * value so that compaction, which keeps only a key's last record, keeps the winner.
 */
export class FleetState implements RolloutStore {
  readonly kind: 'kafka' | 'memory';
  private rules: CompiledRules;
  private routesState: RoutesState = { routes: {}, version: 0, updatedAt: null };
  private readonly applied = new Map<string, AppliedReport>();
  private readonly rulesListeners: Array<(next: CompiledRules, prev: CompiledRules) => void> = [];
  private readonly routesListeners: Array<(s: RoutesState) => void> = [];
  private readonly pending = new Map<number, Pending>();
  /** Offsets already read, with whether they were accepted (for writers racing their own record). */
  private readonly outcomes = new Map<number, boolean>();
  private readonly log: Logger;
  private reportQueued = false;
  private reporting: Promise<void> = Promise.resolve();
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private heartbeat: NodeJS.Timeout | null = null;

  constructor(
    private readonly control: ControlLog,
    private readonly opts: {
      defaults: RolloutRules;
      logger: Logger;
      now: () => number;
      identity: ProcessIdentity;
      /** How often the applied report is repeated (default REPORT_EVERY_MS). */
      reportEveryMs?: number;
    },
  ) {
    this.kind = control.kind === 'kafka' ? 'kafka' : 'memory';
    this.rules = compileRules(opts.defaults, 0, null);
    this.log = opts.logger.child({ component: 'fleet-state' });
    control.onRecord((r) => this.read(r));
  }

  /** Where the state travels: `kafka`, `cluster` (the primary relays) or `memory`. */
  get transport(): ControlLog['kind'] {
    return this.control.kind;
  }

  get identity(): ProcessIdentity {
    return this.opts.identity;
  }

  // --- RolloutStore: the rules key -------------------------------------------------------

  current(): CompiledRules {
    return this.rules;
  }

  loaded(): boolean {
    return this.control.loaded();
  }

  onChange(listener: (next: CompiledRules, prev: CompiledRules) => void): void {
    this.rulesListeners.push(listener);
  }

  start(): void {
    this.control.start();
    void this.control.whenLoaded(24 * 3600_000).then((ok) => {
      if (!ok || this.stopping) return;
      this.report();
      // Repeated while alive, so a process that crashed shows as stale, then disappears.
      this.heartbeat = setInterval(() => this.report(), this.reportEveryMs);
      this.heartbeat.unref();
    });
  }

  whenLoaded(timeoutMs: number): Promise<boolean> {
    return this.control.whenLoaded(timeoutMs);
  }

  /** Publishes rules; without `basedOn`, based on the version in force here once the log is read. */
  async publish(record: RulesRecord, basedOn?: number): Promise<CompiledRules> {
    await this.write(RULES_KEY, { rules: record.rules, updatedAt: record.updatedAt }, basedOn);
    return this.rules;
  }

  // --- routes ----------------------------------------------------------------------------

  routes(): RoutesState {
    return this.routesState;
  }

  onRoutes(listener: (s: RoutesState) => void): void {
    this.routesListeners.push(listener);
  }

  async publishRoutes(routes: RoutesDocument, updatedAt: number, basedOn?: number): Promise<RoutesState> {
    await this.write(ROUTES_KEY, { routes, updatedAt }, basedOn);
    return this.routesState;
  }

  // --- the fleet view ----------------------------------------------------------------------

  private get reportEveryMs(): number {
    return this.opts.reportEveryMs ?? REPORT_EVERY_MS;
  }

  /**
   * Desired versions, and what every process that reported has in force. A process whose last
   * report is older than three report intervals is `stale` (crashed, or cut off from the log)
   * and does not count for `converged`; after ten it is no longer listed.
   */
  view(): {
    transport: ControlLog['kind'];
    desired: { rules: number; routes: number };
    processes: ProcessView[];
    converged: boolean;
  } {
    const desired = { rules: this.rules.version, routes: this.routesState.version };
    const now = this.opts.now();
    const every = this.reportEveryMs;
    const processes = [...this.applied.values()]
      .filter((p) => now - p.at <= FORGET_AFTER_REPORTS * every)
      .map((p) => ({ ...p, stale: now - p.at > STALE_AFTER_REPORTS * every }))
      .sort((a, b) => a.process.localeCompare(b.process));
    return {
      transport: this.control.kind,
      desired,
      processes,
      converged: processes.every(
        (p) => p.stale || (p.versions.rules === desired.rules && p.versions.routes === desired.routes),
      ),
    };
  }

  /** Idempotent. Withdraws this process's applied report (best effort, at most 1 s) so the fleet view forgets it. */
  stop(): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping = true;
      if (this.heartbeat) clearInterval(this.heartbeat);
      for (const p of this.pending.values()) p.resolve(false);
      this.pending.clear();
      if (this.control.loaded()) {
        const key = `${APPLIED_PREFIX}${processName(this.opts.identity)}`;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          this.reporting.then(() => this.control.append(key, null)).catch(() => {}),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, 1000);
          }),
        ]);
        clearTimeout(timer);
      }
      await this.control.stop();
    })();
    return this.stopped;
  }

  // --- internals ---------------------------------------------------------------------------

  private versionOf(key: string): number {
    return key === RULES_KEY ? this.rules.version : this.routesState.version;
  }

  /** Appends and waits for the record to come back; 409 if another writer got there first. */
  private async write(key: string, body: Record<string, unknown>, asked: number | undefined): Promise<void> {
    // Based on the state this process has read: never on the defaults while the log is being read.
    if (!this.control.loaded() && !(await this.control.whenLoaded(LOAD_WAIT_MS)))
      throw new GatewayError(
        'CONTROL_UNAVAILABLE',
        'the control log has not been read yet; retry. If this lasts, check that ROLLOUT_TOPIC exists (or set ROLLOUT_CREATE_TOPIC=true, or ROLLOUT_TOPIC=none) and the kafka problems on /readyz',
        { retryAfterSeconds: 2 },
      );
    const basedOn = asked ?? this.versionOf(key);
    // Older than what this process has read: stale for sure. (Newer: this process lags; the log decides.)
    if (basedOn < this.versionOf(key)) throw this.conflict(key, basedOn);
    let offset: number;
    try {
      offset = await this.control.append(key, JSON.stringify({ ...body, basedOn }));
    } catch (err) {
      throw new GatewayError(
        'CONTROL_UNAVAILABLE',
        `the change was not published: ${(err as Error).message}`,
        {
          cause: err,
          retryAfterSeconds: 2,
        },
      );
    }
    const accepted = await this.outcome(offset);
    if (accepted === null)
      throw new GatewayError(
        'CONTROL_UNAVAILABLE',
        'the change was published but not read back in time; GET the state to see whether it applied',
        { retryAfterSeconds: 2 },
      );
    if (!accepted) {
      this.restoreWinner(key);
      throw this.conflict(key, basedOn);
    }
  }

  private conflict(key: string, basedOn: number): GatewayError {
    const current = this.versionOf(key);
    return new GatewayError(
      'VERSION_CONFLICT',
      `the ${key} changed since version ${basedOn} (now ${current}): read them again and retry`,
      { details: { key, basedOn, current } },
    );
  }

  private outcome(offset: number): Promise<boolean | null> {
    const known = this.outcomes.get(offset);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(offset);
        resolve(null);
      }, ROUND_TRIP_TIMEOUT_MS);
      timer.unref();
      this.pending.set(offset, {
        resolve: (ok) => {
          clearTimeout(timer);
          resolve(ok);
        },
      });
    });
  }

  /** After a lost race: the winner's value again, so that it is the key's last record. */
  private restoreWinner(key: string): void {
    const body =
      key === RULES_KEY
        ? { rules: this.rules.rules, updatedAt: this.rules.updatedAt }
        : { routes: this.routesState.routes, updatedAt: this.routesState.updatedAt };
    if (this.versionOf(key) === 0) return;
    this.control
      .append(key, JSON.stringify({ ...body, basedOn: this.versionOf(key) }))
      .catch((err: unknown) =>
        this.log.warn({ key, err: (err as Error).message }, 'could not restore the winner'),
      );
  }

  private read(r: ControlRecord): void {
    let accepted = true;
    if (r.key === RULES_KEY || r.key === ROUTES_KEY) accepted = this.readState(r);
    else if (r.key.startsWith(APPLIED_PREFIX)) this.readApplied(r);
    this.outcomes.set(r.offset, accepted);
    if (this.outcomes.size > 1000) this.outcomes.delete(this.outcomes.keys().next().value!);
    const p = this.pending.get(r.offset);
    if (p) {
      this.pending.delete(r.offset);
      p.resolve(accepted);
    }
  }

  /** Applies a rules or routes record if it wins; returns whether it did. */
  private readState(r: ControlRecord): boolean {
    const version = r.offset + 1;
    const current = this.versionOf(r.key);
    if (version <= current) return false;
    let parsed: { basedOn?: unknown; updatedAt?: unknown; rules?: unknown; routes?: unknown } = {};
    if (r.value !== null) {
      try {
        parsed = JSON.parse(r.value) as typeof parsed;
      } catch {
        this.log.warn({ key: r.key, offset: r.offset }, 'invalid control record skipped');
        return false;
      }
      // A lost race: every reader ignores it alike. (Records without basedOn always apply.)
      if (typeof parsed.basedOn === 'number' && parsed.basedOn < current) return false;
    }
    const updatedAt = typeof parsed.updatedAt === 'number' ? parsed.updatedAt : null;
    try {
      if (r.key === RULES_KEY) {
        const rules = r.value === null ? this.opts.defaults : rulesSchema.parse(parsed.rules);
        this.applyRules(compileRules(rules, version, updatedAt));
      } else {
        const routes = r.value === null ? {} : parseRoutes(parsed.routes);
        this.routesState = { routes, version, updatedAt };
        for (const l of this.routesListeners) this.safely(() => l(this.routesState));
        this.log.info({ version }, 'legacy routes in force');
      }
    } catch (err) {
      // Written by hand or by another version: keep what is in force.
      this.log.warn(
        { key: r.key, offset: r.offset, err: (err as Error).message.slice(0, 300) },
        'invalid control record skipped',
      );
      return false;
    }
    if (this.control.loaded()) this.report();
    return true;
  }

  private applyRules(next: CompiledRules): void {
    const prev = this.rules;
    this.rules = next;
    this.log.info(
      { version: next.version, percent: next.rules.percent, killSwitch: next.rules.killSwitch },
      'rollout rules in force',
    );
    for (const l of this.rulesListeners) this.safely(() => l(next, prev));
  }

  private readApplied(r: ControlRecord): void {
    const name = r.key.slice(APPLIED_PREFIX.length);
    if (r.value === null) {
      this.applied.delete(name);
      return;
    }
    try {
      const a = JSON.parse(r.value) as AppliedReport;
      if (typeof a?.versions?.rules === 'number' && typeof a.versions.routes === 'number')
        this.applied.set(name, { ...a, process: name });
    } catch {
      // Not ours: ignore.
    }
  }

  /** Tells the fleet what this process has in force (coalesced: one report in flight). */
  private report(): void {
    if (this.reportQueued || this.stopping) return;
    this.reportQueued = true;
    this.reporting = this.reporting.then(async () => {
      this.reportQueued = false;
      if (this.stopping) return;
      const id = this.opts.identity;
      const report: AppliedReport = {
        process: processName(id),
        instance: id.instance,
        worker: id.worker,
        pid: process.pid,
        versions: { rules: this.rules.version, routes: this.routesState.version },
        at: this.opts.now(),
      };
      await this.control
        .append(`${APPLIED_PREFIX}${report.process}`, JSON.stringify(report))
        .catch((err: unknown) => this.log.debug({ err: (err as Error).message }, 'applied report not sent'));
    });
  }

  private safely(f: () => void): void {
    try {
      f();
    } catch (err) {
      this.log.error({ err }, 'fleet state listener failed');
    }
  }
}

function parseRoutes(raw: unknown): RoutesDocument {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('routes: not an object');
  const out: RoutesDocument = {};
  for (const [name, v] of Object.entries(raw as Record<string, unknown>)) {
    const s = v as Partial<RouteSetting> | null;
    if (
      !s ||
      typeof s.mode !== 'string' ||
      !(s.contract === null || typeof s.contract === 'string') ||
      !(s.sampleRate === null || typeof s.sampleRate === 'number')
    )
      throw new Error(`routes.${name}: expected {mode, contract, sampleRate}`);
    out[name] = { mode: s.mode, contract: s.contract, sampleRate: s.sampleRate };
  }
  return out;
}
