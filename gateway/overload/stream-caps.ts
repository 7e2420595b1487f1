/** Why a new stream was refused: the process is full, or this address already holds its share. */
export type CapVerdict = 'ok' | 'total' | 'per_ip';

/**
 * Counts open streams, in total and per client address, against two caps. Pure bookkeeping:
 * `tryAcquire` and `release` pair up per stream (the caller releases exactly once, on close).
 * An address's entry is deleted when its count returns to zero, so the map never outgrows the
 * streams that are open (no growth from connect/disconnect churn).
 */
export class StreamCaps {
  private open = 0;
  private readonly perIp = new Map<string, number>();

  /**
   * @param maxTotal open streams allowed in this process
   * @param maxPerIp open streams allowed per address; 0 means no per-address cap
   */
  constructor(
    private readonly maxTotal: number,
    private readonly maxPerIp: number,
  ) {}

  /** Streams counted as open. */
  get total(): number {
    return this.open;
  }

  /** Addresses holding at least one open stream. */
  get addresses(): number {
    return this.perIp.size;
  }

  /** Counts a new stream from `ip` if both caps allow it; otherwise counts nothing. */
  tryAcquire(ip: string): CapVerdict {
    if (this.open >= this.maxTotal) return 'total';
    const held = this.perIp.get(ip) ?? 0;
    if (this.maxPerIp > 0 && held >= this.maxPerIp) return 'per_ip';
    this.open++;
    this.perIp.set(ip, held + 1);
    return 'ok';
  }

  /** Un-counts a stream acquired for `ip`. */
  release(ip: string): void {
    const held = this.perIp.get(ip);
    if (held === undefined) return;
    this.open--;
    if (held <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, held - 1);
  }
}
