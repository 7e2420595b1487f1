import { LRUCache } from 'lru-cache';
import type { FormatDecoders, FormatResult, RejectReason } from '../cache/record-decoder.ts';
import type { StreamConfig } from '../config/streams.ts';
import type { Logger } from '../observability/logger.ts';
import type { SourceRecord } from '../source/types.ts';
import {
  type CompiledSchema,
  compileSchema,
  formatOf,
  type SchemaFormat,
  SchemaMismatchError,
} from './compile.ts';
import { type RegistryClient, SchemaNotFoundError } from './registry-client.ts';
import { HEADER_BYTES, MAGIC_BYTE, readFraming } from './wire.ts';

export interface SchemaFormatsOptions {
  streams: readonly StreamConfig[];
  client: RegistryClient;
  logger: Logger;
  now?: () => number;
  /** Compiled schemas kept (LRU). Ids never change meaning, so a kept schema is never refetched. */
  maxSchemas?: number;
}

/** A schema id the registry did not deliver, and until when it is not asked for again. */
interface Failure {
  reason: RejectReason;
  detail: string;
  retryAt: number;
}

/** An id the registry says does not exist is asked for again after this (it may be registered late). */
const NOT_FOUND_RETRY_MS = 30_000;
/** While the registry is unreachable, an id is asked for at most this often (each try may wait a timeout). */
const UNAVAILABLE_RETRY_MS = 10_000;
/** Fetches in flight at once, so a batch of many new ids does not flood the registry. */
const FETCH_CONCURRENCY = 4;

/**
 * Decodes Schema Registry formats (Avro, Protobuf, JSON Schema in the Confluent wire format) for
 * the streams that use them. Two steps, because applying records to the cache is synchronous and
 * fetching a schema is not: {@link prepare} runs before a batch is applied and fetches the
 * schema ids it has not seen; {@link value} and {@link key} then decode synchronously from the
 * compiled-schema cache. A registry outage only affects ids not cached yet: those records are
 * skipped (`registry_unavailable`) like any bad record, the others keep flowing.
 */
export class SchemaFormats implements FormatDecoders {
  private readonly byTopic = new Map<string, StreamConfig>();
  private readonly compiled: LRUCache<number, CompiledSchema>;
  private readonly failures = new LRUCache<number, Failure>({ max: 10_000 }); // bounded: ids come from records
  private readonly inflight = new Map<number, Promise<void>>();
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(private readonly opts: SchemaFormatsOptions) {
    this.now = opts.now ?? Date.now;
    this.log = opts.logger.child({ component: 'schema-formats' });
    this.compiled = new LRUCache({ max: opts.maxSchemas ?? 10_000 });
    for (const s of opts.streams) if (usesRegistry(s)) this.byTopic.set(s.topic, s);
  }

  /**
   * Fetches into the cache every schema id the records of `topic` carry that is neither cached
   * nor recently failed. Never rejects; bounded by the registry timeout.
   */
  async prepare(topic: string, records: readonly SourceRecord[]): Promise<void> {
    const stream = this.byTopic.get(topic);
    if (!stream) return;
    const wanted = new Set<number>();
    const now = this.now();
    const want = (bytes: Buffer | null) => {
      const id = peekSchemaId(bytes);
      if (id === null || wanted.has(id) || this.compiled.has(id)) return;
      const failed = this.failures.get(id);
      if (failed && failed.retryAt > now) return;
      wanted.add(id);
    };
    for (const rec of records) {
      if (stream.format !== 'json') want(rec.value);
      if (stream.keyFormat !== 'string') want(rec.key);
    }
    const queue = [...wanted];
    const worker = async () => {
      for (let id = queue.shift(); id !== undefined; id = queue.shift()) await this.load(id);
    };
    await Promise.all(Array.from({ length: Math.min(FETCH_CONCURRENCY, queue.length) }, worker));
  }

  value(stream: StreamConfig, bytes: Buffer): FormatResult {
    return stream.format === 'json'
      ? { ok: false, reason: 'undecodable', detail: 'not a registry format' }
      : this.decode(stream.format, bytes);
  }

  key(stream: StreamConfig, bytes: Buffer): FormatResult {
    return stream.keyFormat === 'string'
      ? { ok: false, reason: 'undecodable', detail: 'not a registry format' }
      : this.decode(stream.keyFormat, bytes);
  }

  /** Schemas held now (for tests and the stats page). */
  get cachedSchemas(): number {
    return this.compiled.size;
  }

  private decode(format: SchemaFormat, bytes: Buffer): FormatResult {
    const framed = readFraming(bytes, format === 'protobuf');
    if (!framed.ok) return { ok: false, reason: 'not_framed', detail: framed.detail };
    const { schemaId, payloadOffset, messageIndexes } = framed.framing;
    const schema = this.compiled.get(schemaId);
    if (!schema) {
      const failed = this.failures.get(schemaId);
      if (failed) return { ok: false, reason: failed.reason, detail: failed.detail };
      return { ok: false, reason: 'registry_unavailable', detail: `schema id ${schemaId} was not fetched` };
    }
    if (schema.format !== format)
      return {
        ok: false,
        reason: 'undecodable',
        detail: `schema id ${schemaId} is ${schema.format}, the stream expects ${format}`,
      };
    try {
      return { ok: true, value: schema.decode(bytes.subarray(payloadOffset), messageIndexes) };
    } catch (err) {
      const reason = err instanceof SchemaMismatchError ? 'schema' : 'undecodable';
      return {
        ok: false,
        reason,
        detail: `schema id ${schemaId}: ${String((err as Error).message).slice(0, 200)}`,
      };
    }
  }

  /** One fetch per id at a time; the outcome lands in `compiled` or `failures`. */
  private load(id: number): Promise<void> {
    let p = this.inflight.get(id);
    if (!p) {
      p = this.fetchAndCompile(id).finally(() => this.inflight.delete(id));
      this.inflight.set(id, p);
    }
    return p;
  }

  private async fetchAndCompile(id: number): Promise<void> {
    let fetched: Awaited<ReturnType<RegistryClient['schemaById']>>;
    try {
      fetched = await this.opts.client.schemaById(id);
    } catch (err) {
      const notFound = err instanceof SchemaNotFoundError;
      this.fail(
        id,
        notFound ? 'unknown_schema' : 'registry_unavailable',
        (err as Error).message,
        notFound ? NOT_FOUND_RETRY_MS : UNAVAILABLE_RETRY_MS,
      );
      return;
    }
    try {
      this.compiled.set(id, compileSchema(fetched));
      this.failures.delete(id);
      this.log.info({ schemaId: id, format: formatOf(fetched) }, 'schema fetched from the registry');
    } catch (err) {
      this.fail(
        id,
        'undecodable',
        `schema id ${id} cannot be compiled: ${(err as Error).message}`,
        NOT_FOUND_RETRY_MS,
      );
    }
  }

  /** Logged once per id and cause: the records it skips are logged (and counted) by the cache. */
  private fail(id: number, reason: RejectReason, detail: string, retryMs: number): void {
    const before = this.failures.get(id);
    if (before?.reason !== reason) this.log.warn({ schemaId: id, reason, detail }, 'schema not available');
    this.failures.set(id, { reason, detail, retryAt: this.now() + retryMs });
  }
}

/** Whether a stream needs the registry (its value or key is in a registry format). */
export function usesRegistry(s: StreamConfig): boolean {
  return s.format !== 'json' || s.keyFormat !== 'string';
}

/** The schema id of a framed value, or null when it is not framed (decode() says why). */
function peekSchemaId(bytes: Buffer | null): number | null {
  if (bytes === null || bytes.length < HEADER_BYTES || bytes[0] !== MAGIC_BYTE) return null;
  const id = bytes.readInt32BE(1);
  return id >= 0 ? id : null;
}
