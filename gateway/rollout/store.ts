import { GatewayError } from '../errors.ts';
import { type CompiledRules, compileRules, type RolloutRules } from './rules.ts';

/** What a published rules record carries besides the rules. */
export interface RulesRecord {
  rules: RolloutRules;
  updatedAt: number;
}

/**
 * Where the rules live. The Kafka store shares them between instances through a compacted
 * control topic; the memory store keeps them in this process (demo feed, unit tests).
 */
export interface RolloutStore {
  readonly kind: 'kafka' | 'memory';
  /** The rules in force now (never blocks). */
  current(): CompiledRules;
  /** False until the stored rules have been read back after start (answers use the defaults meanwhile). */
  loaded(): boolean;
  /**
   * Publishes new rules; resolves once they are in force on this instance. `basedOn`: the
   * version they were made from (default: the version in force); stale -> VERSION_CONFLICT.
   */
  publish(record: RulesRecord, basedOn?: number): Promise<CompiledRules>;
  /** Called with the new rules whenever they change (from any instance). */
  onChange(listener: (next: CompiledRules, prev: CompiledRules) => void): void;
  /** Starts reading the stored rules in the background; never throws (failures are retried). */
  start(): void;
  /** Resolves with loaded() once the stored rules are in force, or after `timeoutMs`. */
  whenLoaded(timeoutMs: number): Promise<boolean>;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** Rules held by this process only: lost on restart, not shared. */
export class MemoryRolloutStore implements RolloutStore {
  readonly kind = 'memory' as const;
  private rules: CompiledRules;
  private readonly listeners: Array<(next: CompiledRules, prev: CompiledRules) => void> = [];

  constructor(defaults: RolloutRules) {
    this.rules = compileRules(defaults, 0, null);
  }

  current(): CompiledRules {
    return this.rules;
  }

  loaded(): boolean {
    return true;
  }

  async publish(record: RulesRecord, basedOn?: number): Promise<CompiledRules> {
    const prev = this.rules;
    if (basedOn !== undefined && basedOn !== prev.version)
      throw new GatewayError(
        'VERSION_CONFLICT',
        `the rules changed since version ${basedOn} (now ${prev.version})`,
      );
    this.rules = compileRules(record.rules, prev.version + 1, record.updatedAt);
    for (const l of this.listeners) l(this.rules, prev);
    return this.rules;
  }

  onChange(listener: (next: CompiledRules, prev: CompiledRules) => void): void {
    this.listeners.push(listener);
  }

  start(): void {}

  async whenLoaded(): Promise<boolean> {
    return true;
  }

  async stop(): Promise<void> {}
}
