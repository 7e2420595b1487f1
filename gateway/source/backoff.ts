/** Exponential backoff with full jitter: delay for attempt n (0-based) in [base, min(cap, base * 2^n)]. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  capMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(baseMs + (ceiling - baseMs) * random());
}
