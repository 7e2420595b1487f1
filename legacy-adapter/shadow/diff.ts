/**
 * Structural diff of two JSON values, kept apart from value drift.
 *
 * - structural (a contract bug): a field the legacy body has and the render lacks (`missing`),
 *   one the render adds (`extra`), or a value of another JSON type (`type`). Reported once per
 *   normalised path (`recent_orders[].order_id`), so a renamed field in 50 rows is one issue.
 * - drift (the two sides saw different data): different values of the same type, different
 *   array lengths, and null against a value (a nullable field). Counted, with a few samples.
 *
 * Array elements are compared by index, or, for arrays given a key field (`arrayKeys`), matched
 * by that key: a row only one side has, or rows in another order, are drift, so one row moving
 * up a ranking is one difference rather than a shift of every row below it. When an element
 * lacks the key (a renamed key field), the array falls back to index order, and the rename
 * shows as structural. Volatile paths are type-checked but their values are not compared.
 * Pure; recursion is bounded by the caller's depth check.
 */

export type JsonType = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean';

export interface StructuralIssue {
  readonly path: string;
  readonly kind: 'missing' | 'extra' | 'type';
  /** JSON types on each side (for `type`; the present side for missing/extra). */
  readonly legacy?: JsonType;
  readonly rendered?: JsonType;
}

export interface DriftSample {
  readonly path: string;
  readonly legacy: unknown;
  readonly rendered: unknown;
}

export interface DiffResult {
  readonly structural: readonly StructuralIssue[];
  /** Number of differing values (leaves, array lengths, null-vs-value). */
  readonly driftCount: number;
  readonly driftSamples: readonly DriftSample[];
}

export interface DiffOptions {
  /** Normalised paths (`a.b`, `list[].field`) whose values are not compared. */
  readonly volatile?: ReadonlySet<string>;
  /** Normalised array paths -> the field identifying an element (`recent_orders` -> `order_id`). */
  readonly arrayKeys?: ReadonlyMap<string, string>;
  readonly maxIssues?: number;
  readonly maxSamples?: number;
}

/** Elements by their key field, or null when one lacks a string/number key or keys repeat. */
function keyed(xs: readonly unknown[], field: string): Map<string, unknown> | null {
  const out = new Map<string, unknown>();
  for (const x of xs) {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) return null;
    const k = (x as Record<string, unknown>)[field];
    if (typeof k !== 'string' && typeof k !== 'number') return null;
    const id = String(k);
    if (out.has(id)) return null;
    out.set(id, x);
  }
  return out;
}

export function jsonType(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  if (t === 'object') return 'object';
  if (t === 'string' || t === 'number' || t === 'boolean') return t;
  return 'null';
}

const child = (path: string, key: string) =>
  !/^[A-Za-z_$][\w$-]*$/.test(key) ? `${path}[${JSON.stringify(key)}]` : path === '' ? key : `${path}.${key}`;

/** Shortens a sample value so a log entry stays small. */
function sample(v: unknown): unknown {
  if (typeof v === 'string' && v.length > 200) return `${v.slice(0, 200)}…`;
  if (v !== null && typeof v === 'object') return Array.isArray(v) ? `[array(${v.length})]` : '[object]';
  return v;
}

export function diffJson(legacy: unknown, rendered: unknown, opts: DiffOptions = {}): DiffResult {
  const volatile = opts.volatile ?? new Set<string>();
  const arrayKeys = opts.arrayKeys ?? new Map<string, string>();
  const maxIssues = opts.maxIssues ?? 50;
  const maxSamples = opts.maxSamples ?? 10;
  const issues = new Map<string, StructuralIssue>();
  const samples: DriftSample[] = [];
  let driftCount = 0;

  const structural = (issue: StructuralIssue) => {
    const id = `${issue.kind}:${issue.path}`;
    if (!issues.has(id) && issues.size < maxIssues) issues.set(id, issue);
  };
  const drift = (path: string, a: unknown, b: unknown) => {
    driftCount++;
    if (samples.length < maxSamples) samples.push({ path, legacy: sample(a), rendered: sample(b) });
  };

  // `norm` is the normalised path (array indices as []), `path` the concrete one.
  const walk = (a: unknown, b: unknown, norm: string, path: string): void => {
    const ta = jsonType(a);
    const tb = jsonType(b);
    if (ta !== tb) {
      if (ta === 'null' || tb === 'null') drift(path, a, b);
      else structural({ path: norm, kind: 'type', legacy: ta, rendered: tb });
      return;
    }
    if (volatile.has(norm)) return;
    if (ta === 'array') {
      const xa = a as unknown[];
      const xb = b as unknown[];
      const keyField = arrayKeys.get(norm);
      const ka = keyField === undefined ? null : keyed(xa, keyField);
      const kb = keyField === undefined ? null : keyed(xb, keyField);
      if (ka && kb) {
        for (const [k, ea] of ka) {
          const eb = kb.get(k);
          if (eb === undefined) drift(`${path}[${keyField}=${k}]`, 'present', 'absent');
          else walk(ea, eb, `${norm}[]`, `${path}[${keyField}=${k}]`);
        }
        for (const k of kb.keys()) if (!ka.has(k)) drift(`${path}[${keyField}=${k}]`, 'absent', 'present');
        const order = (m: Map<string, unknown>, other: Map<string, unknown>) =>
          [...m.keys()].filter((k) => other.has(k)).join('\u0000');
        if (order(ka, kb) !== order(kb, ka)) drift(`${path} (order)`, 'legacy order', 'another order');
        return;
      }
      if (xa.length !== xb.length) drift(`${path}.length`, xa.length, xb.length);
      const n = Math.min(xa.length, xb.length);
      for (let i = 0; i < n; i++) walk(xa[i], xb[i], `${norm}[]`, `${path}[${i}]`);
      return;
    }
    if (ta === 'object') {
      const oa = a as Record<string, unknown>;
      const ob = b as Record<string, unknown>;
      for (const k of Object.keys(oa)) {
        if (!Object.hasOwn(ob, k))
          structural({ path: child(norm, k), kind: 'missing', legacy: jsonType(oa[k]) });
        else walk(oa[k], ob[k], child(norm, k), child(path, k));
      }
      for (const k of Object.keys(ob))
        if (!Object.hasOwn(oa, k))
          structural({ path: child(norm, k), kind: 'extra', rendered: jsonType(ob[k]) });
      return;
    }
    if (a !== b) drift(path, a, b);
  };

  walk(legacy, rendered, '', '');
  return { structural: [...issues.values()], driftCount, driftSamples: samples };
}
