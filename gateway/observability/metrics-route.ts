import type { RequestHandler } from 'express';
import { TokenBucket } from '../util/token-bucket.ts';
import type { GatewayMetrics } from './metrics.ts';

/** Renders a burst may take back to back (tests and a few Prometheus servers never wait). */
export const RENDER_BURST = 5;
/** Past the burst, at most one render per this many milliseconds; scrapes in between share it. */
export const RENDER_INTERVAL_MS = 250;

/**
 * The Prometheus exposition of one gateway, rendered at most once per RENDER_INTERVAL_MS once a
 * burst of RENDER_BURST is spent (a token bucket), and shared: every scrape that arrives while a
 * render runs gets that render, and a scrape that finds no token gets the last one. The bytes
 * are one Buffer written to every scraper, so a pipelined or concurrent flood of `/metrics` costs
 * one render per interval and no copy per request (issue 16: 80,000 pipelined scrapes used to
 * render 80,000 times).
 */
export class MetricsScrape {
  private last: Buffer | null = null;
  private inFlight: Promise<Buffer> | null = null;
  private readonly renders: TokenBucket;

  constructor(
    metrics: GatewayMetrics,
    now: () => number = performance.now.bind(performance),
    /** What is rendered: this process's registry, or (WORKERS > 1) every worker's, summed. */
    private readonly renderText: () => Promise<string> = () => metrics.render(),
  ) {
    this.renders = new TokenBucket({ perSecond: 1000 / RENDER_INTERVAL_MS, burst: RENDER_BURST, now });
  }

  /** The exposition to answer a scrape with. */
  render(): Promise<Buffer> {
    if (this.inFlight) return this.inFlight;
    // Out of tokens: the last render, if there is one (a first render always runs).
    if (!this.renders.tryTake() && this.last !== null) return Promise.resolve(this.last);
    const p = this.renderText().then((text) => {
      this.last = Buffer.from(text, 'utf8');
      return this.last;
    });
    this.inFlight = p;
    const done = () => {
      this.inFlight = null;
    };
    p.then(done, done);
    return p;
  }
}

/** `GET /metrics`. */
export function metricsRoute(metrics: GatewayMetrics, render?: () => Promise<string>): RequestHandler {
  const scrape = new MetricsScrape(metrics, undefined, render);
  return async (_req, res, next) => {
    try {
      const body = await scrape.render();
      res.setHeader('Content-Type', metrics.registry.contentType);
      res.setHeader('Content-Length', String(body.length));
      res.end(body);
    } catch (err) {
      next(err);
    }
  };
}
