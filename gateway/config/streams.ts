import { z } from 'zod';
import { parseListSpec } from './list-spec.ts';

/** Stream names appear in URLs and event ids: keep them short and URL-safe. */
export const STREAM_NAME = /^[a-z][a-z0-9_]{0,31}$/;

export const streamSchema = z
  .object({
    name: z.string().regex(STREAM_NAME, 'must match ^[a-z][a-z0-9_]{0,31}$'),
    topic: z.string().min(1).max(249),
    mode: z.enum(['table', 'feed']),
    /** table: most keys kept (LRU beyond it, counted as evictions). */
    maxKeys: z.number().int().positive().max(10_000_000).default(100_000),
    /** table: drop keys not updated for this long (0 = never). */
    ttlMs: z.number().int().nonnegative().default(0),
    /** feed: newest items kept, and records read back per partition at start. */
    maxItems: z.number().int().positive().max(1_000_000).default(500),
    /** JSON Schema-free guard: records larger than this are skipped and counted. */
    maxRecordBytes: z
      .number()
      .int()
      .positive()
      .max(16 * 1024 * 1024)
      .default(256 * 1024),
    /**
     * Where the record's creation time comes from: the Kafka record timestamp (default) or a
     * top-level numeric (epoch ms) or ISO-8601 string field of the JSON value (date-times need
     * `Z` or an offset). A record without the field keeps its Kafka timestamp; one whose field
     * is not a timestamp is skipped and counted (`bad_timestamp`).
     */
    timestampField: z.string().min(1).max(64).optional(),
    /**
     * Path of a JSON Schema file (a checked subset: gateway/formats/record-schema.ts) every
     * value must match; records that do not are skipped and counted (`schema`), never served.
     */
    schema: z.string().min(1).max(1024).optional(),
    /**
     * How values are encoded: `json` (UTF-8 JSON text), or a Schema Registry format in the
     * Confluent wire format (`avro`, `protobuf`, `jsonschema`), decoded to JSON with schemas
     * fetched from SCHEMA_REGISTRY_URL (docs/schema-registry.md).
     */
    format: z.enum(['json', 'avro', 'protobuf', 'jsonschema']).default('json'),
    /** How keys are encoded: `string` (UTF-8 text) or a Schema Registry format, as for values. */
    keyFormat: z.enum(['string', 'avro', 'protobuf', 'jsonschema']).default('string'),
  })
  .strict();

export type StreamConfig = z.infer<typeof streamSchema>;

/**
 * Parses STREAMS: either a JSON array of stream objects, or the short form
 * `name:mode:topic[,name:mode:topic...]` (e.g. `orders:feed:live.orders,totals:table:live.totals`).
 */
export function parseStreamsSpec(raw: string): unknown {
  // A topic name may itself hold colons: everything after the mode is the topic.
  return parseListSpec(raw, ([name, mode, ...topic]) => ({ name, mode, topic: topic.join(':') }));
}

export const streamsSchema = z
  .array(streamSchema)
  .min(1, 'at least one stream is required')
  .max(64)
  .superRefine((streams, ctx) => {
    const names = new Set<string>();
    const topics = new Set<string>();
    for (const s of streams) {
      if (names.has(s.name))
        ctx.addIssue({ code: 'custom', message: `stream name "${s.name}" is used twice` });
      if (topics.has(s.topic))
        ctx.addIssue({
          code: 'custom',
          message: `topic "${s.topic}" backs two streams; give each stream its own topic`,
        });
      names.add(s.name);
      topics.add(s.topic);
    }
  });
