import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import type { RecordValidator } from '../cache/record-decoder.ts';
import type { StreamConfig } from '../config/streams.ts';

/** Schema files larger than this are refused at start-up. */
export const MAX_SCHEMA_FILE_BYTES = 1024 * 1024;

/**
 * The JSON Schema keywords Switchyard enforces (through zod's `fromJSONSchema`). Anything else is
 * a configuration error rather than silently ignored: an operator must never believe a keyword
 * protects a stream when it does not.
 */
const ANNOTATIONS = [
  '$schema',
  '$id',
  '$comment',
  'title',
  'description',
  'examples',
  'default',
  'deprecated',
];
const ASSERTIONS = [
  'type',
  'enum',
  'const',
  'required',
  'minProperties',
  'maxProperties',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minContains',
  'maxContains',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'nullable',
  '$ref',
  'readOnly',
  'writeOnly',
];
/** Keywords whose value is a schema, a list of schemas, or a map of schemas. */
const ONE_SCHEMA = ['additionalProperties', 'items', 'not', 'contains', 'propertyNames'];
const SCHEMA_LIST = ['anyOf', 'oneOf', 'allOf', 'prefixItems', 'items'];
const SCHEMA_MAP = ['properties', 'patternProperties', '$defs', 'definitions'];
const KNOWN = new Set([...ANNOTATIONS, ...ASSERTIONS, ...ONE_SCHEMA, ...SCHEMA_LIST, ...SCHEMA_MAP]);

/** Every keyword outside the supported subset, as `path: keyword`. */
export function unsupportedKeywords(schema: unknown, path = '#'): string[] {
  if (typeof schema === 'boolean') return [];
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema))
    return [`${path}: a schema must be an object or a boolean`];
  const out: string[] = [];
  for (const [k, v] of Object.entries(schema)) {
    if (!KNOWN.has(k)) {
      out.push(`${path}: unsupported keyword "${k}"`);
      continue;
    }
    if (SCHEMA_MAP.includes(k) && v !== null && typeof v === 'object')
      for (const [name, sub] of Object.entries(v))
        out.push(...unsupportedKeywords(sub, `${path}/${k}/${name}`));
    else if (SCHEMA_LIST.includes(k) && Array.isArray(v))
      v.forEach((sub, i) => {
        out.push(...unsupportedKeywords(sub, `${path}/${k}/${i}`));
      });
    else if (ONE_SCHEMA.includes(k) && typeof v !== 'boolean')
      out.push(...unsupportedKeywords(v, `${path}/${k}`));
  }
  return out;
}

/**
 * Compiles a JSON Schema (the subset above) into a validator returning null for a valid value or
 * a short reason. Throws an Error naming every problem when the schema cannot be enforced.
 */
export function compileRecordSchema(schema: unknown): RecordValidator {
  const problems = unsupportedKeywords(schema);
  if (problems.length > 0) throw new Error(problems.slice(0, 10).join('; '));
  const zschema = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  return (value) => {
    const r = zschema.safeParse(value);
    if (r.success) return null;
    const issue = r.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${where}: ${issue?.message ?? 'does not match the schema'}`.slice(0, 200);
  };
}

/** Reads and compiles a schema file; errors name the file. */
export function loadRecordSchema(file: string): RecordValidator {
  const size = statSync(file).size;
  if (size > MAX_SCHEMA_FILE_BYTES) throw new Error(`${file}: larger than ${MAX_SCHEMA_FILE_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  try {
    return compileRecordSchema(json);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** Validators of the streams that name a `schema` file, by stream name. Throws on the first bad file. */
export function recordValidators(streams: readonly StreamConfig[]): Map<string, RecordValidator> {
  const out = new Map<string, RecordValidator>();
  for (const s of streams) if (s.schema !== undefined) out.set(s.name, loadRecordSchema(s.schema));
  return out;
}

/** Config-time check of every stream's schema file: one problem line per bad file. */
export function recordSchemaProblems(streams: readonly StreamConfig[]): string[] {
  const problems: string[] = [];
  for (const s of streams) {
    if (s.schema === undefined) continue;
    try {
      loadRecordSchema(s.schema);
    } catch (err) {
      problems.push(`STREAMS.${s.name}.schema: ${(err as Error).message}`);
    }
  }
  return problems;
}
