/** Timer functions, injectable so tests can drive time. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/** One pending timer at most: `set` replaces the previous one. */
export class Slot {
  private handle: unknown = null;

  constructor(private readonly timers: Timers) {}

  set(fn: () => void, ms: number): void {
    this.clear();
    this.handle = this.timers.set(() => {
      this.handle = null;
      fn();
    }, ms);
  }

  clear(): void {
    if (this.handle !== null) this.timers.clear(this.handle);
    this.handle = null;
  }

  get pending(): boolean {
    return this.handle !== null;
  }
}
