/**
 * Turns a registry schema into a synchronous decoder from payload bytes to a JSON-safe value.
 * The payload parsers are the well-kept libraries of each format: avsc (Avro), protobufjs
 * (Protobuf) and Ajv (JSON Schema validation); only the Confluent framing is read by hand (wire.ts).
 */

import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvDraft04 from 'ajv-draft-04';
import addFormatsPlugin from 'ajv-formats';
import avro from 'avsc';
import protobuf from 'protobufjs';
import { exceedsDepth, MAX_JSON_DEPTH } from '../cache/record-decoder.ts';
import type { RegistrySchema } from './registry-client.ts';

/** The value formats of a stream (`format`), other than plain JSON. */
export type SchemaFormat = 'avro' | 'protobuf' | 'jsonschema';

export interface CompiledSchema {
  format: SchemaFormat;
  /** Decodes one payload (after the framing). Throws a plain Error on bad input. */
  decode(payload: Buffer, messageIndexes: readonly number[] | undefined): unknown;
}

/** A value that does not match its JSON Schema (reason `schema`, not `undecodable`). */
export class SchemaMismatchError extends Error {}

const FORMAT_OF: Record<RegistrySchema['schemaType'], SchemaFormat> = {
  AVRO: 'avro',
  PROTOBUF: 'protobuf',
  JSON: 'jsonschema',
};

/** @throws when the schema cannot be compiled (its text is broken, or it uses what is not supported) */
export function compileSchema(s: RegistrySchema): CompiledSchema {
  if (s.references.length > 0)
    throw new Error(
      `schema references (${s.references.map((r) => r.subject).join(', ')}) are not supported yet`,
    );
  switch (s.schemaType) {
    case 'AVRO':
      return compileAvro(s.schema);
    case 'PROTOBUF':
      return compileProtobuf(s.schema);
    case 'JSON':
      return compileJsonSchema(s.schema);
  }
}

export function formatOf(s: RegistrySchema): SchemaFormat {
  return FORMAT_OF[s.schemaType];
}

// ---------------------------------------------------------------------------------------------
// Avro
// ---------------------------------------------------------------------------------------------

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Avro `long` as a JSON number while it is exact (|n| <= 2^53 - 1), else as a decimal string
 * (as proto3 JSON prints every int64): avsc's own long refuses the record ("potential
 * precision loss") beyond 2^53 - 2, and nanosecond timestamps or 64-bit ids get there.
 */
const exactLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => {
    const n = buf.readBigInt64LE(0);
    return n <= MAX_SAFE && n >= -MAX_SAFE ? Number(n) : n.toString();
  },
  toBuffer: (n: number | string) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n));
    return buf;
  },
  fromJSON: (n: number | string) => n,
  toJSON: (n: number | string) => n,
  isValid: (n: unknown) => typeof n === 'number' || (typeof n === 'string' && /^-?\d+$/.test(n)),
  compare: (a: number | string, b: number | string) => {
    const d = BigInt(a) - BigInt(b);
    return d === 0n ? 0 : d < 0n ? -1 : 1;
  },
});

function compileAvro(text: string): CompiledSchema {
  // Unions read as their value where the branch is clear from the value (`wrapUnions: auto`);
  // logical types as their underlying type (timestamp-millis: epoch ms), like Avro's JSON.
  const type = avro.Type.forSchema(JSON.parse(text) as avro.Schema, {
    wrapUnions: 'auto',
    registry: { long: exactLong },
  });
  return {
    format: 'avro',
    decode: (payload) => jsonSafe(type.fromBuffer(payload)),
  };
}

/**
 * avsc yields Buffers for `bytes` and `fixed`, and a Map-free tree otherwise: Buffers become
 * base64 strings (JSON.stringify would render them as {"type":"Buffer","data":[...]}). In place
 * and recursive, like avsc's own decoding of the same value (its depth is checked afterwards).
 */
function jsonSafe(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = jsonSafe(value[i]);
    return value;
  }
  const obj = value as Record<string, unknown>;
  for (const k of Object.keys(obj)) obj[k] = jsonSafe(obj[k]);
  return obj;
}

// ---------------------------------------------------------------------------------------------
// Protobuf
// ---------------------------------------------------------------------------------------------

/** Proto3's JSON mapping, as Confluent's and Apicurio's JSON converters print it. */
const PROTO_JSON: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  bytes: String,
  defaults: true,
  json: true,
};

function compileProtobuf(text: string): CompiledSchema {
  const parsed = protobuf.parse(text, new protobuf.Root(), { keepCase: false });
  for (const file of parsed.imports ?? []) {
    // google/protobuf/*.proto (Timestamp, wrappers...) ship with protobufjs; other imports are
    // schema references, refused above.
    const common = protobuf.common.get(file);
    if (!common) throw new Error(`import "${file}" is not a well-known type`);
    parsed.root.addJSON(common.nested ?? {});
  }
  parsed.root.resolveAll();
  const pkg = parsed.package ? parsed.root.lookup(parsed.package) : parsed.root;
  if (!(pkg instanceof protobuf.Namespace)) throw new Error(`package ${parsed.package} not found`);
  const top = messagesOf(pkg);
  if (top.length === 0) throw new Error('the .proto declares no message');
  const byPath = new Map<string, protobuf.Type>();
  const typeAt = (indexes: readonly number[]): protobuf.Type => {
    const key = indexes.join('.');
    const known = byPath.get(key);
    if (known) return known;
    let list = top;
    let type: protobuf.Type | undefined;
    for (const i of indexes) {
      type = list[i];
      if (!type) throw new Error(`no message at index path [${key}]`);
      list = messagesOf(type);
    }
    if (!type) throw new Error('empty message index path');
    byPath.set(key, type);
    return type;
  };
  return {
    format: 'protobuf',
    decode(payload, messageIndexes) {
      const type = typeAt(messageIndexes ?? [0]);
      return type.toObject(type.decode(payload), PROTO_JSON);
    },
  };
}

/** Message types directly inside `ns`, in declaration order (what message indexes count). */
function messagesOf(ns: protobuf.NamespaceBase): protobuf.Type[] {
  return ns.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
}

// ---------------------------------------------------------------------------------------------
// JSON Schema
// ---------------------------------------------------------------------------------------------

const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;
// A CommonJS module whose default export is the class (as ajv-formats' is the plugin).
const AjvDraft04 = ajvDraft04 as unknown as new (opts: object) => Ajv;
// `addUsedSchema: false`: two versions of one schema share an `$id`; each compiles on its own.
const AJV_OPTS = { strict: false, allErrors: false, addUsedSchema: false } as const;
let validators: { draft4: Ajv; draft7: Ajv; draft2019: Ajv; draft2020: Ajv } | null = null;

function ajvFor(schema: unknown): Ajv {
  if (validators === null) {
    const draft7 = addFormats(new Ajv(AJV_OPTS));
    // Draft-06 is draft-07 minus a few keywords: Ajv reads it with its meta-schema added.
    draft7.addMetaSchema(createRequire(import.meta.url)('ajv/dist/refs/json-schema-draft-06.json'));
    validators = {
      draft4: addFormats(new AjvDraft04(AJV_OPTS)),
      draft7,
      draft2019: addFormats(new Ajv2019(AJV_OPTS)),
      draft2020: addFormats(new Ajv2020(AJV_OPTS)),
    };
  }
  const dialect = (schema as { $schema?: unknown } | null)?.$schema;
  if (typeof dialect !== 'string') return validators.draft7;
  if (dialect.includes('2020-12')) return validators.draft2020;
  if (dialect.includes('2019-09')) return validators.draft2019;
  if (dialect.includes('draft-04')) return validators.draft4;
  return validators.draft7; // draft-07, draft-06, or no version named
}

function compileJsonSchema(text: string): CompiledSchema {
  const schema = JSON.parse(text) as unknown;
  const validate: ValidateFunction = ajvFor(schema).compile(schema as object);
  return {
    format: 'jsonschema',
    decode(payload) {
      const value = JSON.parse(payload.toString('utf8')) as unknown;
      // Before validating: Ajv walks the value recursively.
      if (exceedsDepth(value, MAX_JSON_DEPTH)) throw new Error(`nesting deeper than ${MAX_JSON_DEPTH}`);
      if (!validate(value)) {
        const e = validate.errors?.[0];
        throw new SchemaMismatchError(`${e?.instancePath || '/'} ${e?.message ?? 'does not match'}`);
      }
      return value;
    },
  };
}
