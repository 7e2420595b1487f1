/** The transport a latency report was measured on. */
export type TelemetryTransport = 'sse' | 'poll';
/** What became of one `POST /v1/telemetry` batch. */
export type BatchOutcome = 'accepted' | 'invalid' | 'rate_limited' | 'too_large';
/** What became of reported samples: kept as sent, clipped into range, or dropped over budget. */
export type SampleOutcome = 'accepted' | 'clipped' | 'dropped';

/**
 * What the telemetry route reports (a port: it knows no metrics library; the prom-client
 * adapter is gateway/observability/telemetry-events.ts, wired in by createGateway).
 */
export interface TelemetryEvents {
  /** A batch was received and ended as `outcome`. */
  batch(outcome: BatchOutcome): void;
  /** `n` samples of one batch ended as `outcome`. */
  samples(transport: TelemetryTransport, outcome: SampleOutcome, n: number): void;
  /** One accepted latency sample, in seconds. */
  latency(transport: TelemetryTransport, seconds: number): void;
}
