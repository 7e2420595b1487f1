import { Counter, Gauge } from 'prom-client';
import type { Config } from '../config/load.ts';
import { GatewayError } from '../errors.ts';
import type { GatewayMetrics } from '../observability/metrics.ts';
import type { Service } from '../service.ts';
import { jitteredSeconds } from '../util/backoff.ts';
import { LoopLagMonitor } from './loop-lag.ts';
import { StreamCaps } from './stream-caps.ts';

/** Base Retry-After (s) of a refusal; jittered to [base, 2 x base] so refused clients spread out. */
const RETRY_AFTER_OVERLOADED_S = 2;
const RETRY_AFTER_PER_CLIENT_S = 5;

type Reason = 'max_streams' | 'per_ip' | 'event_loop';

/**
 * Admission control of one gateway: caps on open streams (global -> 503 OVERLOADED, per client
 * address -> 429 TOO_MANY_STREAMS_PER_CLIENT) and event-loop-lag shedding (new streams and polls
 * -> 503 OVERLOADED), each with a jittered Retry-After. Work already admitted is never cut: an
 * open stream keeps flowing, only new work waits. Behind NGINX a 503 is retried on the next
 * instance (`proxy_next_upstream http_503`), so one hot instance sheds onto the others.
 */
export class OverloadGuard implements Service {
  readonly name = 'overload-guard';
  readonly caps: StreamCaps;
  readonly lag: LoopLagMonitor;
  private readonly rejections: Counter<'reason' | 'endpoint'>;

  constructor(
    private readonly ctx: {
      readonly config: Pick<Config, 'overload'>;
      readonly metrics: Pick<GatewayMetrics, 'registry'>;
      readonly random: () => number;
    },
  ) {
    const o = ctx.config.overload;
    this.caps = new StreamCaps(o.maxStreams, o.maxStreamsPerIp);
    this.lag = new LoopLagMonitor({ thresholdMs: o.maxEventLoopLagMs });
    const reg = ctx.metrics.registry;
    const registers = [reg];
    // One set of series per registry: a second guard on a shared registry takes the gauges over.
    this.rejections =
      (reg.getSingleMetric('switchyard_overload_rejections_total') as Counter<'reason' | 'endpoint'>) ??
      new Counter({
        name: 'switchyard_overload_rejections_total',
        help: 'New streams and polls refused by admission control, by reason and endpoint.',
        labelNames: ['reason', 'endpoint'],
        registers,
      });
    const { lag, caps } = this;
    reg.removeSingleMetric('switchyard_event_loop_lag_seconds');
    new Gauge({
      name: 'switchyard_event_loop_lag_seconds',
      help: 'Mean event-loop delay over the last window; new work is shed above MAX_EVENT_LOOP_LAG_MS.',
      registers,
      collect() {
        this.set(lag.lagMs / 1000);
      },
    });
    reg.removeSingleMetric('switchyard_stream_client_addresses');
    new Gauge({
      name: 'switchyard_stream_client_addresses',
      help: 'Client addresses holding at least one open stream (per-IP accounting).',
      registers,
      collect() {
        this.set(caps.addresses);
      },
    });
  }

  start(): void {
    this.lag.start();
  }

  stop(): void {
    this.lag.stop();
  }

  /**
   * Admits a new stream from `ip` or throws the refusal. On success the stream counts against
   * the caps until the caller hands it back with `releaseStream(ip)`, exactly once (the stream
   * route does so when its subscriber closes: no listener per stream here).
   */
  admitStream(ip: string): void {
    if (this.lag.overloaded) this.refuse('event_loop', 'stream');
    const verdict = this.caps.tryAcquire(ip);
    if (verdict === 'total') this.refuse('max_streams', 'stream');
    if (verdict === 'per_ip') this.refuse('per_ip', 'stream');
  }

  /** Un-counts a stream admitted for `ip`. */
  releaseStream(ip: string): void {
    this.caps.release(ip);
  }

  /** Throws the refusal of a poll while the event loop lags. */
  admitPoll(): void {
    if (this.lag.overloaded) this.refuse('event_loop', 'snapshot');
  }

  private refuse(reason: Reason, endpoint: 'stream' | 'snapshot'): never {
    this.rejections.inc({ reason, endpoint });
    const random = this.ctx.random;
    if (reason === 'per_ip')
      throw new GatewayError('TOO_MANY_STREAMS_PER_CLIENT', undefined, {
        details: { limit: this.ctx.config.overload.maxStreamsPerIp },
        retryAfterSeconds: jitteredSeconds(RETRY_AFTER_PER_CLIENT_S, random),
      });
    const message =
      reason === 'event_loop'
        ? 'The gateway is too busy to take new work; retry later.'
        : 'The gateway holds as many streams as it is configured for; retry later.';
    throw new GatewayError('OVERLOADED', message, {
      details: { reason },
      retryAfterSeconds: jitteredSeconds(RETRY_AFTER_OVERLOADED_S, random),
    });
  }
}
