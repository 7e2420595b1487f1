import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';

export interface LoopLagOptions {
  /** Shed above this mean delay (ms); 0 disables shedding (the lag is still measured). */
  thresholdMs: number;
  /** Length of one measuring window (ms). */
  windowMs?: number;
  /** Sampling resolution of the delay histogram (ms). */
  resolutionMs?: number;
}

/**
 * Watches the event loop's delay with perf_hooks.monitorEventLoopDelay and says when the process
 * is too far behind to take new work. Each window (1 s by default) the mean delay beyond the
 * sampling resolution becomes `lagMs` (as fastify's under-pressure does: the mean tracks
 * saturation, not one GC pause), and the histogram restarts; shedding needs two such windows. A window that itself
 * closed late counts its own delay too, so a loop blocked for a whole window is never missed.
 * A process shedding new streams and polls recovers instead of queueing work until it falls over.
 */
export class LoopLagMonitor {
  private histogram: IntervalHistogram | null = null;
  private timer: NodeJS.Timeout | null = null;
  private last = 0;
  private previous = 0;
  private windowStart = 0;
  private readonly windowMs: number;
  private readonly resolutionMs: number;

  constructor(private readonly opts: LoopLagOptions) {
    this.windowMs = opts.windowMs ?? 1000;
    this.resolutionMs = opts.resolutionMs ?? 10;
  }

  /** Mean event-loop delay (ms) over the last complete window. */
  get lagMs(): number {
    return this.last;
  }

  /**
   * Whether new work should be shed now: the lag exceeded the threshold in the last two windows.
   * One slow window (a GC pause, a burst of reconnects being served) passes without shedding.
   */
  get overloaded(): boolean {
    const t = this.opts.thresholdMs;
    return t > 0 && this.last > t && this.previous > t;
  }

  /** Idempotent. The timer is unref'd: it never keeps a process alive. */
  start(): void {
    if (this.timer) return;
    this.histogram = monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.histogram.enable();
    this.windowStart = performance.now();
    this.timer = setInterval(() => this.sample(), this.windowMs);
    this.timer.unref();
  }

  /** Idempotent. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.histogram?.disable();
    this.histogram = null;
  }

  /** Closes the current window now (the timer does this every `windowMs`). */
  sample(): number {
    const h = this.histogram;
    if (!h) return this.last;
    const now = performance.now();
    const late = now - this.windowStart - this.windowMs;
    this.windowStart = now;
    // With no sample yet (count 0) the mean is NaN: the window's own lateness tells the story.
    const mean = h.count > 0 ? h.mean / 1e6 - this.resolutionMs : 0;
    this.previous = this.last;
    this.last = Math.max(0, mean, late);
    h.reset();
    return this.last;
  }
}
