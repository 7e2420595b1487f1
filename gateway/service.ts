/**
 * A part of the gateway that owns a timer, a connection or a queue. `createGateway()` builds
 * every service eagerly and lists them in start order; `startGateway()` starts them in that
 * order and `stopGateway()` (and so the shutdown drain) stops them in reverse. No service is
 * created on first use, and none is remembered anywhere but in that list.
 */
export interface Service {
  /** For logs and errors: `staleness-watch`, `ttl-sweeper`... */
  readonly name: string;
  start(): void | Promise<void>;
  /** Idempotent: a second call (or a call before start) does nothing. */
  stop(): void | Promise<void>;
}

/** Starts `services` one after the other, in order. */
export async function startServices(services: readonly Service[]): Promise<void> {
  for (const s of services) await s.start();
}

/** Stops `services` in reverse order, each after the one started after it. */
export async function stopServices(services: readonly Service[]): Promise<void> {
  for (const s of [...services].reverse()) await s.stop();
}

/** A service made of two functions (for parts that are not classes). */
export function service(
  name: string,
  start: () => void | Promise<void>,
  stop: () => void | Promise<void>,
): Service {
  return { name, start, stop };
}
