import { backoffDelay, jitter } from '../../gateway/util/backoff.ts';

/**
 * The kit's reconnect backoff: attempt n (0-based) waits a uniformly random time in
 * [base/2, min(cap, base x 2^n)], so clients failing together do not come back together.
 * (gateway/util/backoff.ts is pure and bundled into the kit.)
 */
export function backoff(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  return backoffDelay(attempt, baseMs, capMs, random, baseMs / 2);
}

/** Spreads a delay over [0.8, 1.2) x ms: periodic work (polls, rechecks) of many clients does not align. */
export function spread(ms: number, random: () => number): number {
  return jitter(ms, 0.8, 1.2, random);
}

/**
 * `Retry-After` in ms: delta-seconds or an HTTP date (relative to `now`); null when absent or
 * unreadable. Capped at an hour so a broken header cannot park a client forever.
 */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null || header.trim() === '') return null;
  const text = header.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    // An HTTP date always has a weekday and month name; engines would read "-1" or "1.5" as dates.
    if (!/[A-Za-z]{3}/.test(text)) return null;
    const at = Date.parse(text);
    if (!Number.isFinite(at)) return null;
    ms = at - now;
  }
  return Math.min(Math.max(0, ms), 3_600_000);
}
