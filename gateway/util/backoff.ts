/**
 * Retry delays: exponential backoff and jitter, for the server and the browser kit alike. Pure (no
 * imports, randomness injected), so the kit's bundle can include it.
 */

/** Largest exponent used: 2^30 x base already exceeds any sane cap, and 2^n stays finite. */
const MAX_DOUBLINGS = 30;

/** The exponential ceiling of attempt n (0-based), without jitter: min(cap, base x 2^n). */
export function backoffCeiling(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(attempt, MAX_DOUBLINGS));
}

/**
 * Exponential backoff with jitter: attempt n (0-based) waits a uniformly random whole number of ms
 * in [min(floor, ceiling), ceiling], ceiling = min(cap, base x 2^n). The floor (base by default)
 * keeps a first retry from coming back at once; the spread keeps peers failing together from
 * coming back together.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
  floorMs: number = baseMs,
): number {
  const ceiling = backoffCeiling(attempt, baseMs, capMs);
  const floor = Math.min(ceiling, floorMs);
  return Math.round(floor + (ceiling - floor) * random());
}

/** `ms` scaled by a uniformly random factor in [low, high), rounded to a whole number. */
export function jitter(ms: number, low: number, high: number, random: () => number = Math.random): number {
  return Math.round(ms * (low + (high - low) * random()));
}

/**
 * A reconnect hint (SSE `retry:`, ms) spread over [0.5, 1.5) x base: clients told to come back
 * at the same moment (a drain, a refusal, a blip) do not all come back at once.
 */
export function jitteredRetryMs(baseMs: number, random: () => number = Math.random): number {
  return jitter(baseMs, 0.5, 1.5, random);
}

/**
 * A `Retry-After` in whole seconds spread over [base, 2 x base), at least 1: refused clients do
 * not return together, and none is told to come back sooner than the base.
 */
export function jitteredSeconds(baseSeconds: number, random: () => number = Math.random): number {
  return Math.max(1, jitter(baseSeconds, 1, 2, random));
}
