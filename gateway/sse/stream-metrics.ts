/** How a stream started: a fresh snapshot, a replay of missed updates, or a resync snapshot. */
export type StreamStart = 'fresh' | 'replay' | 'resync';

/**
 * What the SSE transport reports (a port: the SSE code knows no metrics library; the prom-client
 * adapter is gateway/observability/stream-metrics.ts, wired in by createGateway).
 */
export interface StreamMetrics {
  /** A stream sent its first event. */
  connected(start: StreamStart): void;
  /** A stream ended (the client left, or the gateway closed it). */
  closed(): void;
  /** `n` queued table events were replaced by newer values for a slow client. */
  conflated(n: number): void;
  /** A client was cut for exceeding its buffer. */
  slowDisconnected(): void;
  /** An update was written to at least one stream, `latencyMs` after its record was created. */
  delivered(latencyMs: number): void;
}
