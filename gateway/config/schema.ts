import { z } from 'zod';
import { booleanSetting, kafkaSecuritySchema } from './kafka-schema.ts';
import { corsOriginsSchema, trustProxySchema } from './security-config.ts';
import { streamsSchema } from './streams.ts';

/** An integer setting between min and max (a variable's text coerced). */
export const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/**
 * Every setting of the gateway core, keyed by its environment variable (an extension adds its
 * own: gateway/config/config-part.ts, the legacy adapter's LEGACY_* in legacy-adapter/config.ts). CLI flags map onto the same
 * names (`--poll-interval-ms 5000` is POLL_INTERVAL_MS). docs/configuration.md documents each.
 */
export const envSchema = z.object({
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: int(0, 65535).default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * Comma-separated `host:port` list; `[::1]:9092` for IPv6, and a listener prefix as consoles
   * print it (`SASL_SSL://host:9092`) is understood (gateway/config/kafka-brokers.ts checks it).
   * Unset: the embedded demo feed, no Kafka needed.
   */
  KAFKA_BROKERS: z.string().optional(),
  KAFKA_CLIENT_ID: z.string().min(1).max(100).default('switchyard'),
  ...kafkaSecuritySchema,
  /** Kafka connection timeout and the ceiling of the reconnect backoff. */
  KAFKA_CONNECT_TIMEOUT_MS: int(100, 60_000).default(3000),
  KAFKA_MAX_RETRY_MS: int(100, 120_000).default(5000),
  /** Compression codecs decoded on fetch; a batch in another one makes its topic stale. */
  KAFKA_CODECS: z
    .string()
    .regex(/^(gzip|snappy|lz4|zstd)?(,(gzip|snappy|lz4|zstd))*$/, 'expected a list of gzip,snappy,lz4,zstd')
    .default('gzip,snappy,lz4,zstd'),
  /** Codec of the gateway's own producers (dead-letter queue, rollout rules). */
  KAFKA_COMPRESSION: z.enum(['none', 'gzip', 'snappy', 'lz4', 'zstd']).default('none'),
  /** A source silent for longer than this is reported stale (header, event, metric). */
  STALE_AFTER_MS: int(1000, 3_600_000).default(30_000),
  STREAMS: streamsSchema.optional(),
  POLL_INTERVAL_MS: int(100, 3_600_000).default(10_000),
  HEARTBEAT_MS: int(100, 300_000).default(15_000),
  RETRY_MS: int(100, 600_000).default(3000),
  HISTORY_SIZE: int(0, 10_000_000).default(10_000),
  /** Updates applied this recently are kept beyond HISTORY_SIZE (resume right after a restart). */
  HISTORY_SECONDS: int(0, 86_400).default(60),
  /** Memory bound of the history, whatever the age of what it holds. */
  HISTORY_MAX_RECORDS: int(0, 10_000_000).default(100_000),
  CLIENT_BUFFER_BYTES: int(1024, 1024 * 1024 * 1024).default(1024 * 1024),
  MAX_STREAMS_PER_REQUEST: int(1, 64).default(16),
  DEMO_RATE: z.coerce.number().min(0).max(100_000).default(20),
  SHUTDOWN_DRAIN_MS: int(0, 600_000).default(10_000),
  /** Processes sharing the port (node:cluster). Unset: one per core with Kafka, 1 on the demo feed. */
  WORKERS: int(1, 256).optional(),
  /**
   * This instance's name in the fleet view and `X-Switchyard-Worker` (`<instance>/<worker>`).
   * Unset: `<hostname>:<PORT>`. Letters, digits and `.:_@-` only: it is a header value and a key.
   */
  SWITCHYARD_INSTANCE: z
    .string()
    .regex(/^[A-Za-z0-9.:_@-]{1,120}$/, 'letters, digits and . : _ @ - only, at most 120')
    .optional(),
  /** Open streams per process before new ones get 503 OVERLOADED (docs/deploy/README.md). */
  MAX_STREAMS: int(1, 1_000_000).default(10_000),
  /** Open streams per client address before 429 TOO_MANY_STREAMS_PER_CLIENT; 0: no cap. */
  MAX_STREAMS_PER_IP: int(0, 1_000_000).default(0),
  /** Mean event-loop delay above which new streams and polls are shed with 503; 0: never. */
  MAX_EVENT_LOOP_LAG_MS: int(0, 60_000).default(200),
  /** Bearer token for every admin call. Unset: the admin API answers 401 to everyone. */
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Bearer token allowed to read admin state but not change it (403 on changes). */
  ADMIN_READ_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** HMAC secret of stream tokens. Unset: streams and snapshots are public (docs/security.md). */
  STREAM_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').max(1024).optional(),
  /** The previous secret, still accepted while tokens minted with it expire (rotation). */
  STREAM_TOKEN_SECRET_PREVIOUS: z.string().min(32, 'must be at least 32 characters').max(1024).optional(),
  /** Comma-separated exact origins allowed cross-origin, with credentials. Unset: same-origin only. */
  CORS_ORIGINS: corsOriginsSchema.optional(),
  /** Requests per second per client address on everything but streams, probes and metrics; 0: off. */
  RATE_LIMIT_PER_SECOND: z.coerce.number().min(0).max(1_000_000).default(50),
  /** Requests a client address may make at once after a quiet spell. */
  RATE_LIMIT_BURST: int(1, 1_000_000).default(100),
  /** Client addresses the rate limiter remembers (LRU; bounds its memory). */
  RATE_LIMIT_MAX_CLIENTS: int(100, 10_000_000).default(100_000),
  /** Longest request URL (414 beyond). */
  MAX_URL_LENGTH: int(256, 65_536).default(8192),
  /** Largest request line + headers (Node's maxHeaderSize; 431 beyond). */
  MAX_HEADER_BYTES: int(1024, 1024 * 1024).default(16_384),
  /** Which proxies' X-Forwarded-For to believe for the client address: hops or addresses/CIDRs. */
  TRUST_PROXY: trustProxySchema.optional(),
  /** Kafka topic (must exist) receiving a copy of every rejected record. Unset: none. */
  DLQ_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a Kafka topic name')
    .optional(),
  /**
   * Compacted Kafka topic sharing the transport rollout rules between instances; `none`: rules
   * kept in memory per instance (no rollout topic, so no ACLs for it).
   */
  ROLLOUT_TOPIC: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'expected a Kafka topic name')
    .default('switchyard.rollout'),
  /** Create ROLLOUT_TOPIC (compacted) when it is missing; off: never issue CreateTopics. */
  ROLLOUT_CREATE_TOPIC: booleanSetting.default(false),
  /** Share of client kits (0-100 %) told to stream until rollout rules are first published. */
  ROLLOUT_PERCENT: z.coerce.number().min(0).max(100).default(0),
  /** Schema Registry (Confluent REST API) for streams in `avro`, `protobuf` or `jsonschema` format. */
  SCHEMA_REGISTRY_URL: z
    .url({ protocol: /^https?$/, error: 'expected an http(s) URL such as http://registry:8081' })
    .optional(),
  /** Basic auth user for the registry; needs a password (SCHEMA_REGISTRY_PASSWORD or _FILE). */
  SCHEMA_REGISTRY_USERNAME: z.string().min(1).max(256).optional(),
  SCHEMA_REGISTRY_PASSWORD: z.string().min(1).max(1024).optional(),
  /** File holding the password (a mounted secret); trailing newlines are dropped. */
  SCHEMA_REGISTRY_PASSWORD_FILE: z.string().min(1).max(1024).optional(),
  /** PEM file of the CA(s) that signed an https registry's certificate. Unset: the system's CAs. */
  SCHEMA_REGISTRY_CA_FILE: z.string().min(1).max(1024).optional(),
  /** How long one registry request may take before it counts as an outage. */
  SCHEMA_REGISTRY_TIMEOUT_MS: int(100, 60_000).default(5000),
});

export type EnvInput = z.input<typeof envSchema>;
export type EnvOutput = z.output<typeof envSchema>;
