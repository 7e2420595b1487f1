import { promisify } from 'node:util';
import { brotliDecompress, gunzip, inflate } from 'node:zlib';
import type { LegacyContract } from '../../compat/contracts/types.ts';
import { exceedsDepth } from '../../gateway/cache/record-decoder.ts';
import type { Rendered } from '../contract-renderer.ts';
import type { Outcome } from '../metrics.ts';
import type { CapturedResponse } from './capture.ts';
import { type DiffResult, diffJson } from './diff.ts';

const decoders = {
  gzip: promisify(gunzip),
  'x-gzip': promisify(gunzip),
  deflate: promisify(inflate),
  br: promisify(brotliDecompress),
} as const;

/** Legacy bodies nested deeper than this are not compared (the diff recurses). */
const MAX_DEPTH = 64;

/** Why a legacy answer could not be compared (closed set, kept with the log entry). */
export type LegacyErrorReason = 'status' | 'too_large' | 'truncated' | 'decode' | 'invalid_json' | 'too_deep';

/** One shadow comparison, as counted and (when not a match) logged. */
export interface Comparison {
  readonly route: string;
  readonly contract: string;
  /** When the comparison ran (epoch ms). */
  readonly at: number;
  readonly outcome: Outcome;
  readonly reason?: LegacyErrorReason | 'render';
  readonly detail?: string;
  readonly legacyStatus: number;
  readonly legacyBytes: number;
  /** Cache position rendered. */
  readonly position: string | null;
  readonly structural: DiffResult['structural'];
  readonly driftCount: number;
  readonly driftSamples: DiffResult['driftSamples'];
  /** Data time of the legacy answer and of the cache (epoch ms), when known. */
  readonly legacyAsOf: number | null;
  readonly cacheAsOf: number | null;
  /**
   * How much newer the cache's data was than the legacy answer's (negative: older): cacheAsOf -
   * legacyAsOf, or, when the contract dates the legacy body per stream, the largest lead of any
   * stream (see `aheadByStream`).
   */
  readonly cacheAheadMs: number | null;
  /** Per stream, cache newest - legacy newest, when the contract dates the body per stream. */
  readonly aheadByStream?: Readonly<Record<string, number>>;
  /**
   * For drift: whether the cache held newer data than the legacy answer (cacheAheadMs > 0), which
   * explains the difference. false: values differ with no newer data, worth a look. null otherwise.
   */
  readonly explained: boolean | null;
  /** The legacy body as text (possibly cut), when it could be read. */
  readonly legacyBody?: string;
  /** The rendered body as text. */
  readonly renderedBody?: string;
}

export interface CompareInput {
  readonly route: string;
  readonly contract: LegacyContract;
  readonly captured: CapturedResponse;
  readonly maxBytes: number;
  /** Renders the contract now (throws on a render failure). */
  readonly render: () => Rendered;
  readonly now: () => number;
}

type Parsed =
  | { ok: true; text: string; value: unknown }
  | { ok: false; reason: LegacyErrorReason; detail: string; text?: string };

/** Decodes and parses a captured legacy body; never throws. */
async function readLegacy(c: CapturedResponse, maxBytes: number): Promise<Parsed> {
  if (c.status !== 200) return { ok: false, reason: 'status', detail: `legacy answered ${c.status}` };
  if (c.tooLarge || !c.body)
    return { ok: false, reason: 'too_large', detail: `${c.bytes} bytes > LEGACY_MAX_BODY_BYTES ${maxBytes}` };
  if (!c.complete)
    return { ok: false, reason: 'truncated', detail: `connection closed after ${c.bytes} bytes` };
  let raw = c.body;
  const enc = c.contentEncoding;
  if (enc && enc !== 'identity') {
    const decode = (decoders as Record<string, (b: Buffer, o: object) => Promise<Buffer>>)[enc];
    if (!decode)
      return { ok: false, reason: 'decode', detail: `unsupported Content-Encoding ${enc.slice(0, 40)}` };
    try {
      raw = await decode(raw, { maxOutputLength: maxBytes });
    } catch (err) {
      const tooBig = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      return tooBig
        ? { ok: false, reason: 'too_large', detail: `decoded body > LEGACY_MAX_BODY_BYTES ${maxBytes}` }
        : { ok: false, reason: 'decode', detail: (err as Error).message.slice(0, 200) };
    }
  }
  const text = raw.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'invalid_json', detail: (err as Error).message.slice(0, 200), text };
  }
  if (exceedsDepth(value, MAX_DEPTH))
    return { ok: false, reason: 'too_deep', detail: `nesting deeper than ${MAX_DEPTH}`, text };
  return { ok: true, text, value };
}

/** How much newer the cache's data was than the legacy body's (see Comparison.cacheAheadMs). */
function freshness(
  contract: LegacyContract,
  legacyValue: unknown,
  rendered: Rendered,
): Pick<Comparison, 'legacyAsOf' | 'cacheAsOf' | 'cacheAheadMs' | 'aheadByStream'> {
  const view = rendered.view;
  let times: ReturnType<NonNullable<LegacyContract['asOf']>> = null;
  try {
    times = contract.asOf?.(legacyValue) ?? null;
  } catch {
    times = null;
  }
  if (typeof times === 'number' || times === null) {
    const legacyAsOf = typeof times === 'number' && Number.isFinite(times) ? times : null;
    const cacheAheadMs = legacyAsOf !== null && view.asOf !== null ? view.asOf - legacyAsOf : null;
    return { legacyAsOf, cacheAsOf: view.asOf, cacheAheadMs };
  }
  const aheadByStream: Record<string, number> = {};
  let legacyAsOf: number | null = null;
  let cacheAheadMs: number | null = null;
  for (const [stream, t] of Object.entries(times)) {
    if (typeof t !== 'number' || !Number.isFinite(t)) continue;
    if (legacyAsOf === null || t > legacyAsOf) legacyAsOf = t;
    const c = view.streamAsOf(stream);
    if (c === null) continue;
    aheadByStream[stream] = c - t;
    if (cacheAheadMs === null || c - t > cacheAheadMs) cacheAheadMs = c - t;
  }
  return { legacyAsOf, cacheAsOf: view.asOf, cacheAheadMs, aheadByStream };
}

const NO_DIFF = { structural: [], driftCount: 0, driftSamples: [] } as const;

/**
 * Compares a captured legacy answer with the contract rendered from the cache. A legacy answer
 * that cannot be read is `legacy_error` (never a mismatch: it says nothing about the contract);
 * a render failure is `render_error`; otherwise structural issues win over drift.
 */
export async function compareCaptured(input: CompareInput): Promise<Comparison> {
  const { captured: c, contract } = input;
  const base = {
    route: input.route,
    contract: contract.name,
    legacyStatus: c.status,
    legacyBytes: c.bytes,
  };
  const legacy = await readLegacy(c, input.maxBytes);
  if (!legacy.ok)
    return {
      ...base,
      ...NO_DIFF,
      at: input.now(),
      outcome: 'legacy_error',
      reason: legacy.reason,
      detail: legacy.detail,
      position: null,
      legacyAsOf: null,
      cacheAsOf: null,
      cacheAheadMs: null,
      explained: null,
      ...(legacy.text === undefined ? {} : { legacyBody: legacy.text }),
    };
  let rendered: Rendered;
  try {
    rendered = input.render();
  } catch (err) {
    return {
      ...base,
      ...NO_DIFF,
      at: input.now(),
      outcome: 'render_error',
      reason: 'render',
      detail: (err as Error).message.slice(0, 300),
      position: null,
      legacyAsOf: null,
      cacheAsOf: null,
      cacheAheadMs: null,
      explained: null,
      legacyBody: legacy.text,
    };
  }
  const diff = diffJson(legacy.value, rendered.value, {
    volatile: new Set(contract.volatile),
    arrayKeys: new Map(Object.entries(contract.arrayKeys ?? {})),
  });
  const fresh = freshness(contract, legacy.value, rendered);
  const outcome: Outcome =
    diff.structural.length > 0 ? 'structural' : diff.driftCount > 0 ? 'drift' : 'match';
  const { legacyAsOf, cacheAsOf, cacheAheadMs } = fresh;
  return {
    ...base,
    ...diff,
    at: input.now(),
    outcome,
    position: rendered.view.position,
    legacyAsOf,
    cacheAsOf,
    cacheAheadMs,
    ...(fresh.aheadByStream ? { aheadByStream: fresh.aheadByStream } : {}),
    explained: outcome === 'drift' && cacheAheadMs !== null ? cacheAheadMs > 0 : null,
    ...(outcome === 'match' ? {} : { legacyBody: legacy.text, renderedBody: rendered.text() }),
  };
}
