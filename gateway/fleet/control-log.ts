/**
 * The ordered, keyed log every piece of admin state travels through (docs/operations.md,
 * "Fleet state"). Three transports implement it, and the fleet state on top is the same code
 * for all of them:
 * - the compacted Kafka control topic (`ROLLOUT_TOPIC`, gateway/rollout/kafka-store.ts): every
 *   worker of every instance reads it from the beginning;
 * - the cluster primary (gateway/fleet/cluster-log.ts): the embedded demo with WORKERS > 1, the
 *   primary keeps the log in memory and relays each record to every worker;
 * - this process's memory (below): the embedded demo with one worker, unit tests.
 */
export interface ControlRecord {
  readonly key: string;
  /** null: a tombstone (the key is reset). */
  readonly value: string | null;
  /** Position in the log; strictly increasing. */
  readonly offset: number;
}

export interface ControlLog {
  readonly kind: 'kafka' | 'cluster' | 'memory';
  /** Starts reading from the beginning, in the background; never throws (failures are retried). */
  start(): void;
  /** Appends a record; resolves with its offset once durable (Kafka: acks=all). */
  append(key: string, value: string | null): Promise<number>;
  /** Called for every record, in log order, replayed ones included. */
  onRecord(handler: (r: ControlRecord) => void): void;
  /** True once every record that existed at start has been handed to the handlers. */
  loaded(): boolean;
  /** Resolves with loaded() once loaded, or after `timeoutMs`. */
  whenLoaded(timeoutMs: number): Promise<boolean>;
  /** Idempotent. */
  stop(): Promise<void>;
}

/** A log held in this process: lost on restart, not shared. */
export class MemoryControlLog implements ControlLog {
  readonly kind = 'memory' as const;
  private readonly handlers: Array<(r: ControlRecord) => void> = [];
  private next = 0;

  start(): void {}

  async append(key: string, value: string | null): Promise<number> {
    const r = { key, value, offset: this.next++ };
    // Handed over after the caller has the offset, as a real log would.
    queueMicrotask(() => {
      for (const h of this.handlers) h(r);
    });
    return r.offset;
  }

  onRecord(handler: (r: ControlRecord) => void): void {
    this.handlers.push(handler);
  }

  loaded(): boolean {
    return true;
  }

  async whenLoaded(): Promise<boolean> {
    return true;
  }

  async stop(): Promise<void> {}
}
