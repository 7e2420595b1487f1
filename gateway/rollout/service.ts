import { GatewayError } from '../errors.ts';
import type { Logger } from '../observability/logger.ts';
import { controlEvent } from '../protocol/events.ts';
import type { SseHub } from '../sse/hub.ts';
import type { Subscriber } from '../sse/subscriber.ts';
import { bucketOf } from './bucket.ts';
import { type Decision, type DecisionReason, decide } from './decide.ts';
import type { RolloutEvents } from './rollout-events.ts';
import { type CompiledRules, parseRules, type RolloutRules } from './rules.ts';
import type { RolloutStore } from './store.ts';

/** `GET /v1/transport` body: the decision plus what the kit needs to act on it. */
export interface TransportAdvice extends Decision {
  clientId: string | null;
  /** Advertised polling interval (POLL_INTERVAL_MS). */
  pollIntervalMs: number;
  /** When a polling kit should ask again. */
  recheckAfterMs: number;
  percent: number;
  rulesVersion: number;
  /** True while this instance has not read the stored rules yet (defaults in force). */
  provisional: boolean;
}

/** What `GET /v1/admin/rollout` shows. */
export interface RolloutState {
  rules: RolloutRules;
  version: number;
  updatedAt: number | null;
  store: 'kafka' | 'memory';
  loaded: boolean;
}

export interface RolloutServiceOptions {
  store: RolloutStore;
  hub: SseHub;
  pollIntervalMs: number;
  /** Where decisions, control events and the rules in force are reported. */
  events: RolloutEvents;
  logger: Logger;
  now?: () => number;
}

/** Conflation key of control events for paused clients: only the newest one matters. */
const CONTROL_KEY = '\0control';

/**
 * The rollout as the HTTP layer sees it: per-client decisions from the rules in force, rule
 * changes (validated, then published through the store), and `control` events telling
 * streaming kits to switch to polling when a change (from any instance) says so.
 */
export class RolloutService {
  private readonly store: RolloutStore;
  private readonly log: Logger;
  private readonly now: () => number;
  private startedAt: number | null = null;
  /** Buckets of open streams, hashed once per stream rather than once per stream per rules change. */
  private readonly buckets = new WeakMap<Subscriber, number>();

  constructor(private readonly opts: RolloutServiceOptions) {
    this.store = opts.store;
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ component: 'rollout' });
    this.store.onChange((next, prev) => this.rulesChanged(next, prev));
    this.updateGauges(this.store.current());
  }

  /** The decision for one client id (null: missing or malformed, see rules.anonymous). */
  advise(clientId: string | null): TransportAdvice {
    const compiled = this.store.current();
    const d = decide(compiled, clientId);
    this.opts.events.decided(d.transport, d.reason);
    return {
      ...d,
      clientId,
      pollIntervalMs: this.opts.pollIntervalMs,
      recheckAfterMs: compiled.rules.recheckAfterMs,
      percent: compiled.rules.percent,
      rulesVersion: compiled.version,
      provisional: !this.store.loaded(),
    };
  }

  state(): RolloutState {
    const c = this.store.current();
    return {
      rules: c.rules,
      version: c.version,
      updatedAt: c.updatedAt,
      store: this.store.kind,
      loaded: this.store.loaded(),
    };
  }

  /**
   * Validates and publishes new rules; invalid rules throw INVALID_RULES and change nothing.
   * `merge`: the input names only the fields to change (PATCH), the others keep their value
   * in force (lists included). `basedOn`: the version the change was made from (If-Match);
   * a newer version in force means another change came first: VERSION_CONFLICT (409).
   */
  async update(
    input: unknown,
    opts: { merge?: boolean; basedOn?: number | undefined } = {},
  ): Promise<RolloutState> {
    if (opts.merge && (input === null || typeof input !== 'object' || Array.isArray(input)))
      throw new GatewayError(
        'INVALID_RULES',
        'send a JSON object with the fields to change, such as {"percent":5}',
      );
    const parsed = parseRules(opts.merge ? { ...this.store.current().rules, ...(input as object) } : input);
    if (!parsed.ok)
      throw new GatewayError('INVALID_RULES', `rollout rules rejected: ${parsed.problems.join('; ')}`, {
        details: { problems: parsed.problems },
      });
    await this.store.publish({ rules: parsed.rules, updatedAt: this.now() }, opts.basedOn);
    return this.state();
  }

  /** Called when a stream opens: a kit whose decision is already `poll` is told at once. */
  streamOpened(sub: Subscriber): void {
    // Before the stored rules are read, the defaults might contradict what the kit was told.
    if (sub.clientId === null || !this.store.loaded()) return;
    const compiled = this.store.current();
    const d = decide(compiled, sub.clientId, this.bucketOf(sub, sub.clientId));
    if (d.transport === 'poll') this.sendControl(sub, d.reason, compiled);
  }

  /** Starts reading the stored rules (in the background: the gateway's start is not held up). */
  start(): void {
    this.startedAt ??= this.now();
    this.store.start();
  }

  /**
   * Resolves once the stored rules are in force, or at most `graceMs` after start(): right after
   * a restart `/v1/transport` waits for them rather than answer from the defaults, but a control
   * topic that stays unreachable delays nobody for longer than that.
   */
  async settled(graceMs: number): Promise<void> {
    if (this.store.loaded()) return;
    const left = (this.startedAt ?? this.now()) + graceMs - this.now();
    if (left > 0) await this.store.whenLoaded(left);
  }

  stop(): Promise<void> {
    return this.store.stop();
  }

  /**
   * Tells every streaming kit whose decision is now `poll` to switch. Plain EventSource clients
   * (no clientId) are left alone: they cannot poll. One framed event per reason, not per client.
   */
  private rulesChanged(next: CompiledRules, _prev: CompiledRules): void {
    this.updateGauges(next);
    const chunks = new Map<DecisionReason, string>();
    let told = 0;
    for (const sub of this.opts.hub.subscribers()) {
      if (sub.clientId === null || !sub.isOpen) continue;
      const d = decide(next, sub.clientId, this.bucketOf(sub, sub.clientId));
      if (d.transport !== 'poll') continue;
      let chunk = chunks.get(d.reason);
      if (chunk === undefined) {
        chunk = this.controlChunk(d.reason, next);
        chunks.set(d.reason, chunk);
      }
      this.write(sub, chunk, d.reason);
      told++;
    }
    if (told > 0)
      this.log.info({ streams: told, version: next.version }, 'streams told to switch to polling');
  }

  private bucketOf(sub: Subscriber, clientId: string): number {
    let b = this.buckets.get(sub);
    if (b === undefined) {
      b = bucketOf(clientId);
      this.buckets.set(sub, b);
    }
    return b;
  }

  private sendControl(sub: Subscriber, reason: DecisionReason, compiled: CompiledRules): void {
    this.write(sub, this.controlChunk(reason, compiled), reason);
  }

  private write(sub: Subscriber, chunk: string, reason: DecisionReason): void {
    // send() (not sendIfIdle): a paused client gets it queued, conflated with older control events.
    sub.send(chunk, [{ conflationKey: CONTROL_KEY, text: chunk }]);
    this.opts.events.controlSent(reason);
  }

  private controlChunk(reason: DecisionReason, compiled: CompiledRules): string {
    return controlEvent({
      transport: 'poll',
      reason,
      pollIntervalMs: this.opts.pollIntervalMs,
      recheckAfterMs: compiled.rules.recheckAfterMs,
      rulesVersion: compiled.version,
    });
  }

  private updateGauges(c: CompiledRules): void {
    this.opts.events.rulesInForce(c.rules.killSwitch ? 0 : c.rules.percent, c.rules.killSwitch);
  }
}
