/**
 * Schema Registry formats: Avro, Protobuf and JSON Schema values and keys in the Confluent wire
 * format, decoded to JSON (docs/schema-registry.md).
 */
import type { Config } from '../config/load.ts';
import type { Logger } from '../observability/logger.ts';
import { RegistryClient } from './registry-client.ts';
import { SchemaFormats, usesRegistry } from './schema-formats.ts';

export { SchemaFormats, usesRegistry } from './schema-formats.ts';

/** The decoders of a gateway, or null when no stream uses a registry format. */
export function createSchemaFormats(config: Config, logger: Logger, now: () => number): SchemaFormats | null {
  if (config.schemaRegistry === null || !config.streams.some(usesRegistry)) return null;
  return new SchemaFormats({
    streams: config.streams,
    client: new RegistryClient(config.schemaRegistry),
    logger,
    now,
  });
}
