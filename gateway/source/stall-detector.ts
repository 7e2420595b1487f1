/**
 * Notices partitions that stopped advancing although the broker has more for them (a wedged
 * fetch, a partition whose leader is gone while others answer). Pure: fed with observations
 * (high-water mark and the cache's next offset per partition, at a time), it answers since when
 * the data is known incomplete, and which partitions have been stuck for too long.
 *
 * A partition is "stuck since t" from the first observation at which it lagged (high-water mark
 * beyond its next offset) without having moved since the observation before. Any progress, or
 * catching up, clears it. A consumer that is merely between two fetches moves within a fetch
 * wait, so it is cleared at the next observation.
 */
export class StallDetector {
  private readonly parts = new Map<string, { next: number; stuckSince: number | null }>();

  /** Records one observation of a partition. */
  observe(key: string, highWatermark: number, next: number, now: number): void {
    const p = this.parts.get(key);
    const lagging = highWatermark > next;
    if (!p) {
      this.parts.set(key, { next, stuckSince: null });
      return;
    }
    if (!lagging || next !== p.next) p.stuckSince = null;
    else p.stuckSince ??= now;
    p.next = next;
  }

  /** The earliest time since which some partition has been stuck, or null when none is. */
  stuckSince(): number | null {
    let min: number | null = null;
    for (const p of this.parts.values())
      if (p.stuckSince !== null && (min === null || p.stuckSince < min)) min = p.stuckSince;
    return min;
  }

  /** Partitions stuck for at least `afterMs` at `now`. */
  stalled(now: number, afterMs: number): string[] {
    const out: string[] = [];
    for (const [key, p] of this.parts)
      if (p.stuckSince !== null && now - p.stuckSince >= afterMs) out.push(key);
    return out;
  }
}
