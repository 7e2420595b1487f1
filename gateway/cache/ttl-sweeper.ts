import type { Service } from '../service.ts';

/**
 * Drops expired table rows (streams with a TTL) on a timer: every quarter of the shortest TTL,
 * between 50 ms and 5 s. Without a TTL on any stream it starts no timer.
 */
export class TtlSweeper implements Service {
  readonly name = 'ttl-sweeper';
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cache: { sweepExpired(): void },
    /** TTLs (ms) of the table streams; 0 is none. */
    private readonly ttlsMs: readonly number[],
  ) {}

  start(): void {
    const ttls = this.ttlsMs.filter((t) => t > 0);
    if (this.timer || ttls.length === 0) return;
    this.timer = setInterval(
      () => this.cache.sweepExpired(),
      Math.max(50, Math.min(5000, Math.min(...ttls) / 4)),
    );
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
