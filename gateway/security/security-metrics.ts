import { Counter } from 'prom-client';
import type { GatewayMetrics } from '../observability/metrics.ts';

/** Why a stream or poll request was refused for its access token. */
export type AuthFailure = 'missing' | 'invalid' | 'expired' | 'forbidden_stream';
/** What happened to a record offered to the dead-letter topic. */
export type DeadLetterResult = 'sent' | 'dropped' | 'failed';

/**
 * The security counters, registered on the gateway's own registry (one set per registry, so
 * several gateways can share a test process). Labels come from the fixed unions above only.
 */
export interface SecurityMetrics {
  readonly authFailures: Counter<'reason'>;
  readonly tokenExpiries: Counter;
  readonly rateLimited: Counter;
  readonly deadLetters: Counter<'result'>;
}

const byRegistry = new WeakMap<GatewayMetrics, SecurityMetrics>();

export function securityMetrics(metrics: GatewayMetrics): SecurityMetrics {
  let m = byRegistry.get(metrics);
  if (m) return m;
  const registers = [metrics.registry];
  m = {
    authFailures: new Counter({
      name: 'switchyard_stream_auth_failures_total',
      help: 'Stream and snapshot requests refused for their access token, by reason.',
      labelNames: ['reason'],
      registers,
    }),
    tokenExpiries: new Counter({
      name: 'switchyard_stream_token_expiries_total',
      help: 'Open streams ended with TOKEN_EXPIRED because their access token expired.',
      registers,
    }),
    rateLimited: new Counter({
      name: 'switchyard_rate_limited_total',
      help: 'Requests answered 429 RATE_LIMITED by the per-IP request rate limit.',
      registers,
    }),
    deadLetters: new Counter({
      name: 'switchyard_dead_letter_records_total',
      help: 'Rejected records copied to DLQ_TOPIC (sent), dropped because its queue was full, or failed.',
      labelNames: ['result'],
      registers,
    }),
  };
  byRegistry.set(metrics, m);
  return m;
}
