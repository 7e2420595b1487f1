import { z } from 'zod';
import { streamsSchema } from './streams.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * Every setting of the gateway, keyed by its environment variable. CLI flags map onto the same
 * names (`--poll-interval-ms 5000` is POLL_INTERVAL_MS). docs/configuration.md documents each.
 */
export const envSchema = z.object({
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Comma-separated host:port list. Unset: the embedded demo feed, no Kafka needed. */
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, 'expected host:port[,host:port...]')
    .optional(),
  KAFKA_CLIENT_ID: z.string().min(1).max(100).default('switchyard'),
  /** Kafka connection timeout and the ceiling of the reconnect backoff. */
  KAFKA_CONNECT_TIMEOUT_MS: int(100, 60_000).default(3000),
  KAFKA_MAX_RETRY_MS: int(100, 120_000).default(5000),
  /** A source silent for longer than this is reported stale (header, event, metric). */
  STALE_AFTER_MS: int(1000, 3_600_000).default(30_000),
  STREAMS: streamsSchema.optional(),
  POLL_INTERVAL_MS: int(100, 3_600_000).default(10_000),
  HEARTBEAT_MS: int(100, 300_000).default(15_000),
  RETRY_MS: int(100, 600_000).default(3000),
  HISTORY_SIZE: int(0, 10_000_000).default(10_000),
  CLIENT_BUFFER_BYTES: int(1024, 1024 * 1024 * 1024).default(1024 * 1024),
  MAX_STREAMS_PER_REQUEST: int(1, 64).default(16),
  DEMO_RATE: z.coerce.number().min(0).max(100_000).default(20),
  SHUTDOWN_DRAIN_MS: int(0, 600_000).default(10_000),
  /** Bearer token for every admin call. Unset: the admin API answers 401 to everyone. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Bearer token allowed to read admin state but not change it (403 on changes). */
  ADMIN_READ_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
});

export type EnvInput = z.input<typeof envSchema>;
