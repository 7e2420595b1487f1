import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DistinctSketch } from './distinct-counter.ts';
import { collectProcessMetrics } from './process-metrics.ts';

/**
 * Latency buckets (seconds) fine enough to tell 5 ms from 50 ms and 1 s from 10 s: the two
 * transports live three orders of magnitude apart.
 */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 12.5, 15, 20, 30, 60,
];

/**
 * Endpoints as a closed set: no label ever takes a client-supplied value. The request counters
 * are kept by one middleware (`http-metrics.ts`), which classifies known paths; a router serving
 * other paths (legacy contracts, rollout...) tags its responses with `tagEndpoint(res, ...)`.
 */
export type Endpoint =
  | 'snapshot'
  | 'stream'
  | 'legacy'
  | 'telemetry'
  | 'transport'
  | 'admin'
  | 'stats'
  | 'compare'
  | 'metrics'
  | 'health'
  | 'other';
export type Transport = 'sse' | 'poll';

/**
 * Every Prometheus metric of one gateway, on a registry of its own (so several gateways can
 * live in one test process). Label values come only from config (stream names) or from the
 * fixed unions above. docs/observability.md lists them.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly sseConnections: Gauge;
  readonly pollers: Gauge;
  readonly sseConnects: Counter<'kind'>;
  readonly sseDisconnects: Counter<'reason'>;
  /** Stream requests told to wait and retry with a 200 (gateway/http/stream-wait-answer.ts), by code. */
  readonly sseWaitAnswers: Counter<'reason'>;
  readonly requests: Counter<'endpoint' | 'status'>;
  readonly responseBytes: Counter<'endpoint'>;
  readonly recordsApplied: Counter<'stream'>;
  readonly recordsRejected: Counter<'stream' | 'reason'>;
  readonly evictions: Counter<'stream' | 'reason'>;
  readonly conflations: Counter;
  readonly slowDisconnects: Counter;
  readonly ingestLatency: Histogram<'stream'>;
  readonly deliveryLatency: Histogram<'transport'>;
  readonly clientLatency: Histogram<'transport'>;
  readonly sourceConnected: Gauge;
  readonly sourceStaleness: Gauge;
  readonly consumerLag: Gauge<'stream'>;
  readonly streamStale: Gauge<'stream' | 'reason'>;
  readonly ready: Gauge;
  readonly transportDecisions: Counter<'transport' | 'reason'>;
  readonly controlEvents: Counter<'reason'>;
  readonly rolloutPercent: Gauge;
  readonly rolloutKillSwitch: Gauge;
  readonly telemetrySamples: Counter<'transport' | 'outcome'>;
  readonly telemetryBatches: Counter<'outcome'>;
  /** Security counters (reported through security/security-events.ts, which names their labels). */
  readonly authFailures: Counter<'reason'>;
  readonly tokenExpiries: Counter;
  readonly rateLimited: Counter;
  readonly deadLetters: Counter<'result'>;
  /** Kafka health (source/kafka-health.ts). */
  readonly kafkaFailures: Counter<'component' | 'reason'>;
  readonly kafkaProblem: Gauge<'component' | 'reason'>;
  readonly kafkaOffsetsOutOfRange: Counter<'stream'>;
  /** Connections closed by the connection guard (http/connection-guard.ts). */
  readonly connectionsClosed: Counter<'reason'>;
  /** Run before each scrape to set gauges computed from live state (nothing on the hot path). */
  readonly beforeScrape: Array<() => void> = [];
  /**
   * The pollers counter's windows (set by the poll observer): with WORKERS > 1 the primary merges
   * them, so a client polling two workers counts once in `switchyard_pollers`.
   */
  pollerSketch: (() => DistinctSketch) | null = null;

  /** The Prometheus text exposition, with scrape-time gauges refreshed. */
  async render(): Promise<string> {
    for (const f of this.beforeScrape) f();
    return this.registry.metrics();
  }

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics !== false) collectProcessMetrics(this.registry);
    this.sseConnections = new Gauge({
      name: 'switchyard_sse_connections',
      help: 'Open SSE streams.',
      registers,
    });
    this.pollers = new Gauge({
      name: 'switchyard_pollers',
      help: 'Distinct polling clients seen in the last poll interval (estimate; see docs/observability.md).',
      registers,
    });
    this.sseConnects = new Counter({
      name: 'switchyard_sse_connects_total',
      help: 'SSE connections by how they started: fresh snapshot, replay of missed updates, or resync.',
      labelNames: ['kind'],
      registers,
    });
    this.sseDisconnects = new Counter({
      name: 'switchyard_sse_disconnects_total',
      help: 'SSE streams ended, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.sseWaitAnswers = new Counter({
      name: 'switchyard_sse_wait_answers_total',
      help: 'Stream requests answered 200 with a retry: and the reason to wait (draining, overloaded, limits), by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.requests = new Counter({
      name: 'switchyard_http_requests_total',
      help: 'HTTP responses by endpoint and status (304s included; 0: client left before an answer).',
      labelNames: ['endpoint', 'status'],
      registers,
    });
    this.responseBytes = new Counter({
      name: 'switchyard_http_response_bytes_total',
      help: 'Bytes written to clients by endpoint (headers and body, after compression; streams while open).',
      labelNames: ['endpoint'],
      registers,
    });
    this.recordsApplied = new Counter({
      name: 'switchyard_records_applied_total',
      help: 'Records applied to the snapshot cache.',
      labelNames: ['stream'],
      registers,
    });
    this.recordsRejected = new Counter({
      name: 'switchyard_records_rejected_total',
      help: 'Records skipped (invalid JSON, too large, no key...).',
      labelNames: ['stream', 'reason'],
      registers,
    });
    this.evictions = new Counter({
      name: 'switchyard_cache_evictions_total',
      help: 'Table rows dropped for capacity or TTL.',
      labelNames: ['stream', 'reason'],
      registers,
    });
    this.conflations = new Counter({
      name: 'switchyard_sse_conflated_events_total',
      help: 'Queued table events replaced by a newer value for a slow client.',
      registers,
    });
    this.slowDisconnects = new Counter({
      name: 'switchyard_sse_slow_disconnects_total',
      help: 'Clients disconnected for exceeding their buffer limit.',
      registers,
    });
    this.ingestLatency = new Histogram({
      name: 'switchyard_ingest_latency_seconds',
      help: 'Record creation -> applied to the cache.',
      labelNames: ['stream'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.deliveryLatency = new Histogram({
      name: 'switchyard_delivery_latency_seconds',
      help: 'Record creation -> sent to clients, per transport (sse: written to the stream; poll: first poll response carrying it).',
      labelNames: ['transport'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.clientLatency = new Histogram({
      name: 'switchyard_client_latency_seconds',
      help: 'Record creation -> arrival, as reported by clients (POST /v1/telemetry), per transport.',
      labelNames: ['transport'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.sourceConnected = new Gauge({
      name: 'switchyard_source_connected',
      help: '1 when the record source is connected.',
      // Over workers: 1 only if every worker is connected.
      aggregator: 'min',
      registers,
    });
    this.sourceStaleness = new Gauge({
      name: 'switchyard_source_staleness_seconds',
      help: 'Seconds since the source last fetched (any topic; a single stuck or failing topic: switchyard_stream_stale).',
      // Summed over workers (/metrics with WORKERS > 1): the stalest worker, not a sum.
      aggregator: 'max',
      registers,
    });
    this.consumerLag = new Gauge({
      name: 'switchyard_consumer_lag_records',
      help: 'Records between the cache position and the high-water mark, summed over partitions.',
      labelNames: ['stream'],
      // Every worker consumes every record: the worker furthest behind.
      aggregator: 'max',
      registers,
    });
    this.streamStale = new Gauge({
      name: 'switchyard_stream_stale',
      help: '1 while a stream cannot be read (its topic alone: reason codec_refused, topic_missing...); 0 when it reads.',
      labelNames: ['stream', 'reason'],
      registers,
    });
    this.ready = new Gauge({
      name: 'switchyard_ready',
      help: '1 when /readyz answers 200.',
      // Over workers: 1 only if every worker is ready.
      aggregator: 'min',
      registers,
    });
    this.transportDecisions = new Counter({
      name: 'switchyard_transport_decisions_total',
      help: 'Answers of GET /v1/transport by transport and reason (rollout, allow_list, kill_switch...).',
      labelNames: ['transport', 'reason'],
      registers,
    });
    this.controlEvents = new Counter({
      name: 'switchyard_rollout_control_events_total',
      help: 'Control events telling a streaming client kit to switch to polling, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.rolloutPercent = new Gauge({
      name: 'switchyard_rollout_percent',
      help: 'Share of client ids the rollout rules in force send to SSE (0 while the kill switch is on).',
      // Fleet state, the same on every worker: one value, not a sum.
      aggregator: 'max',
      registers,
    });
    this.rolloutKillSwitch = new Gauge({
      name: 'switchyard_rollout_kill_switch',
      help: '1 while the rollout kill switch sends every client to polling.',
      // Fleet state, the same on every worker: one value, not a sum.
      aggregator: 'max',
      registers,
    });
    this.telemetrySamples = new Counter({
      name: 'switchyard_telemetry_samples_total',
      help: 'Client latency samples received: accepted as sent, clipped into range, or dropped over budget.',
      labelNames: ['transport', 'outcome'],
      registers,
    });
    this.telemetryBatches = new Counter({
      name: 'switchyard_telemetry_batches_total',
      help: 'POST /v1/telemetry batches by outcome (accepted, invalid, too_large, rate_limited).',
      labelNames: ['outcome'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'switchyard_stream_auth_failures_total',
      help: 'Stream and snapshot requests refused for their access token, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.tokenExpiries = new Counter({
      name: 'switchyard_stream_token_expiries_total',
      help: 'Open streams ended with TOKEN_EXPIRED because their access token expired.',
      registers,
    });
    this.rateLimited = new Counter({
      name: 'switchyard_rate_limited_total',
      help: 'Requests answered 429 RATE_LIMITED by the per-IP request rate limit.',
      registers,
    });
    this.deadLetters = new Counter({
      name: 'switchyard_dead_letter_records_total',
      help: 'Rejected records copied to DLQ_TOPIC (sent), dropped because its queue was full, or failed.',
      labelNames: ['result'],
      registers,
    });
    this.kafkaFailures = new Counter({
      name: 'switchyard_kafka_failures_total',
      help: 'Failed Kafka attempts (connect, login, read, write) by component and reason (docs/kafka.md).',
      labelNames: ['component', 'reason'],
      registers,
    });
    this.kafkaProblem = new Gauge({
      name: 'switchyard_kafka_problem',
      help: '1 for the failure reason a Kafka component is in now (no series at 1: all is well).',
      labelNames: ['component', 'reason'],
      registers,
    });
    this.kafkaOffsetsOutOfRange = new Counter({
      name: 'switchyard_kafka_offsets_out_of_range_total',
      help: 'Times a stream found its position deleted before it was read (retention, deleteRecords) and read its topic again from the start.',
      labelNames: ['stream'],
      registers,
    });
    this.connectionsClosed = new Counter({
      name: 'switchyard_connections_closed_total',
      help: 'Connections the gateway closed instead of answering a request on them, by reason (pipelining behind a stream, too many queued requests).',
      labelNames: ['reason'],
      registers,
    });
  }
}
