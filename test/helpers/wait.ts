/**
 * Bounded polling for what no event announces (a broker's pace, a child process, a retry loop):
 * checks every `intervalMs` and fails naming `what` once `timeoutMs` has passed. Prefer an event
 * (`ctx.hub.waitUntil`, `sse.waitFor`) where there is one.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** How long to poll, and how often. */
export interface PollOptions {
  timeoutMs: number;
  intervalMs: number;
}

/** Resolves once `cond()` holds; rejects with `timed out waiting for ${what}` after `timeoutMs`. */
export async function pollUntil(
  what: string,
  cond: () => boolean | Promise<boolean>,
  { timeoutMs, intervalMs }: PollOptions,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/**
 * Resolves with the first value `probe()` returns other than `undefined`; rejects with
 * `timed out waiting for ${what}` after `timeoutMs`. With `retryErrors`, a probe that throws
 * (a server not listening yet) counts as no value.
 */
export async function pollForValue<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs, intervalMs, retryErrors = false }: PollOptions & { retryErrors?: boolean },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await (retryErrors ? probe().catch(() => undefined) : probe());
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}
