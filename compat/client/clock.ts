/** How many recent observations each kind keeps, and for how long (clocks drift; old ones go stale). */
const KEEP = 16;
const MAX_AGE_MS = 10 * 60 * 1000;

interface Bound {
  value: number;
  at: number;
}

interface Exchange {
  /** NTP estimate: server time minus the local midpoint of the exchange. */
  offset: number;
  rtt: number;
  at: number;
}

/**
 * Estimates `offset = server clock - local clock` from what the gateway states about its time.
 * - A request sent at local C0, answered with `X-Server-Time: S` and received at C1 bounds the
 *   offset to [S - C1, S - C0] and, assuming equal delays both ways, puts it at S - (C0 + C1)/2
 *   (NTP). The exchange with the smallest round trip is the most precise: it is the one used.
 * - An event stamped S by the server (snapshot `serverTime`, update `appliedAt`) received at C
 *   bounds it from below: offset >= S - C. Streams deliver many, so this bound is tight.
 * The estimate is the best exchange's, clamped into the bounds; with no exchange, the lower
 * bound. A contradiction (the local clock jumped) drops everything older.
 */
export class ClockOffset {
  private exchanges: Exchange[] = [];
  private lowers: Bound[] = [];
  private uppers: Bound[] = [];
  /** The last estimate and when it was computed: offset() runs once per update, bounds change rarely. */
  private cached: { value: number; at: number } | null = null;

  /** A request/response pair carrying the server's time. */
  observeResponse(sentAt: number, receivedAt: number, serverTime: number): void {
    if (!Number.isFinite(serverTime) || receivedAt < sentAt) return;
    this.addLower(serverTime - receivedAt, receivedAt);
    this.addUpper(serverTime - sentAt, receivedAt);
    this.exchanges.push({
      offset: serverTime - (sentAt + receivedAt) / 2,
      rtt: receivedAt - sentAt,
      at: receivedAt,
    });
    if (this.exchanges.length > KEEP) this.exchanges.shift();
    this.cached = null;
  }

  /** Something the server stamped at `serverTime` (or later) arrived at `receivedAt`. */
  observeEvent(receivedAt: number, serverTime: number): void {
    if (!Number.isFinite(serverTime)) return;
    this.addLower(serverTime - receivedAt, receivedAt);
  }

  /** The current estimate in ms (0 before any observation). */
  offset(now: number): number {
    if (this.cached && now - this.cached.at < 10_000 && now >= this.cached.at) return this.cached.value;
    this.expire(now);
    const value = Math.round(this.estimate());
    this.cached = { value, at: now };
    return value;
  }

  private estimate(): number {
    const lo = this.lowers.length > 0 ? Math.max(...this.lowers.map((b) => b.value)) : null;
    const hi = this.uppers.length > 0 ? Math.min(...this.uppers.map((b) => b.value)) : null;
    let best: Exchange | null = null;
    for (const e of this.exchanges) if (best === null || e.rtt < best.rtt) best = e;
    if (best === null) return lo ?? hi ?? 0;
    let est = best.offset;
    if (lo !== null && est < lo) est = lo;
    if (hi !== null && est > hi) est = hi;
    return est;
  }

  private addLower(value: number, at: number): void {
    // Most events bound nothing new: skip them, unless the bounds need refreshing before they expire.
    const last = this.lowers[this.lowers.length - 1];
    if (last && at - last.at < 60_000 && value <= Math.max(...this.lowers.map((b) => b.value))) return;
    this.cached = null;
    // A lower bound above an upper bound means the local clock moved: what came before is wrong.
    if (this.uppers.length > 0 && value > Math.min(...this.uppers.map((b) => b.value))) this.forget();
    this.lowers.push({ value, at });
    if (this.lowers.length > KEEP) this.lowers.shift();
  }

  private addUpper(value: number, at: number): void {
    this.cached = null;
    if (this.lowers.length > 0 && value < Math.max(...this.lowers.map((b) => b.value))) this.forget();
    this.uppers.push({ value, at });
    if (this.uppers.length > KEEP) this.uppers.shift();
  }

  private forget(): void {
    this.lowers = [];
    this.uppers = [];
    this.exchanges = [];
  }

  private expire(now: number): void {
    this.lowers = this.lowers.filter((b) => now - b.at <= MAX_AGE_MS);
    this.uppers = this.uppers.filter((b) => now - b.at <= MAX_AGE_MS);
    this.exchanges = this.exchanges.filter((e) => now - e.at <= MAX_AGE_MS);
  }
}
