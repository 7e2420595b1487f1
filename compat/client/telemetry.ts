import type { Timers } from './timers.ts';

export interface TelemetryOptions {
  /** Probability with which each measured update is kept (default 0.25). */
  sampleRate?: number;
  /** Flush at least this often while samples wait (default 10 s). */
  flushIntervalMs?: number;
  /** Samples per report; a full batch is sent at once (default 100, the gateway accepts 200). */
  maxBatch?: number;
}

export interface ReporterDeps {
  url: string;
  fetch: typeof fetch;
  timers: Timers;
  random: () => number;
  withCredentials: boolean;
}

type Transport = 'sse' | 'poll';

/**
 * Batches and samples per-update latencies and posts them to `POST /v1/telemetry`. Memory is
 * bounded: while reports fail, at most two batches per transport wait; the rest are counted as
 * dropped and the count travels with the next report. Reporting never throws into the app.
 */
export class LatencyReporter {
  private readonly sampleRate: number;
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly buffers: Record<Transport, number[]> = { sse: [], poll: [] };
  private dropped = 0;
  private timer: unknown = null;
  private closed = false;

  constructor(
    private readonly deps: ReporterDeps,
    opts: TelemetryOptions = {},
  ) {
    this.sampleRate = Math.min(1, Math.max(0.0001, opts.sampleRate ?? 0.25));
    this.flushIntervalMs = Math.max(1000, opts.flushIntervalMs ?? 10_000);
    this.maxBatch = Math.min(200, Math.max(1, opts.maxBatch ?? 100));
  }

  /** One measured update (ms from record creation to arrival, clock-corrected). */
  record(transport: Transport, latencyMs: number): void {
    if (this.closed || !Number.isFinite(latencyMs) || this.deps.random() >= this.sampleRate) return;
    const buf = this.buffers[transport];
    if (buf.length >= 2 * this.maxBatch) {
      this.dropped++;
      return;
    }
    buf.push(Math.round(latencyMs));
    if (buf.length >= this.maxBatch) this.flush();
    else if (this.timer === null)
      this.timer = this.deps.timers.set(() => {
        this.timer = null;
        this.flush();
      }, this.flushIntervalMs);
  }

  /** Sends what waits. `beacon`: on page exit, through navigator.sendBeacon when available. */
  flush(beacon = false): void {
    if (this.timer !== null) {
      this.deps.timers.clear(this.timer);
      this.timer = null;
    }
    for (const transport of ['sse', 'poll'] as const) {
      const buf = this.buffers[transport];
      while (buf.length > 0) {
        const batch = buf.splice(0, this.maxBatch);
        this.send(transport, batch, beacon);
      }
    }
  }

  close(): void {
    this.flush(true);
    this.closed = true;
  }

  private send(transport: Transport, latencyMs: number[], beacon: boolean): void {
    const body = JSON.stringify({
      v: 1,
      transport,
      latencyMs,
      sampleRate: this.sampleRate,
      ...(this.dropped > 0 ? { dropped: this.dropped } : {}),
    });
    this.dropped = 0;
    const nav = (globalThis as { navigator?: { sendBeacon?: (url: string, data: string) => boolean } })
      .navigator;
    if (beacon && typeof nav?.sendBeacon === 'function' && nav.sendBeacon(this.deps.url, body)) return;
    this.deps
      .fetch(this.deps.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body,
        keepalive: true,
        credentials: this.deps.withCredentials ? 'include' : 'same-origin',
      })
      .then((res) => {
        void res.body?.cancel();
        // Refused for its content: these samples are gone for good. Refused for load: keep a few.
        if (res.status === 429 || res.status >= 500) this.requeue(transport, latencyMs);
      })
      .catch(() => this.requeue(transport, latencyMs));
  }

  private requeue(transport: Transport, latencyMs: number[]): void {
    if (this.closed) return;
    const buf = this.buffers[transport];
    const room = Math.max(0, 2 * this.maxBatch - buf.length);
    buf.push(...latencyMs.slice(0, room));
    this.dropped += Math.max(0, latencyMs.length - room);
    if (buf.length > 0 && this.timer === null)
      this.timer = this.deps.timers.set(() => {
        this.timer = null;
        this.flush();
      }, this.flushIntervalMs);
  }
}
