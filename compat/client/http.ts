import { retryAfterMs } from './backoff.ts';
import type { PollBody, TransportAdvice } from './types.ts';

/** `base + path ? params`, skipping undefined values. `base` may be '' (same origin). */
export function buildUrl(base: string, path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const qs = q.toString();
  return `${base.replace(/\/+$/, '')}${path}${qs ? `?${qs}` : ''}`;
}

export interface HttpDeps {
  fetch: typeof fetch;
  now: () => number;
  withCredentials: boolean;
}

/** A timed exchange: local send and receive times and the server's stated time, for the clock. */
export interface Timed {
  sentAt: number;
  receivedAt: number;
  serverTime: number | null;
}

export type Fetched<T> =
  | ({ ok: true; value: T } & Timed)
  | ({ ok: false; status: number | null; retryAfterMs: number | null; error: string } & Partial<Timed>);

function serverTimeOf(res: Response): number | null {
  const v = Number(res.headers.get('x-server-time'));
  return Number.isFinite(v) && v > 0 ? v : null;
}

function credentials(d: HttpDeps): RequestCredentials {
  return d.withCredentials ? 'include' : 'same-origin';
}

/** `GET /v1/transport`: which transport the gateway wants this client on. */
export async function fetchAdvice(
  d: HttpDeps,
  url: string,
  signal: AbortSignal,
): Promise<Fetched<TransportAdvice>> {
  const sentAt = d.now();
  try {
    const res = await d.fetch(url, { cache: 'no-store', credentials: credentials(d), signal });
    const receivedAt = d.now();
    const timed = { sentAt, receivedAt, serverTime: serverTimeOf(res) };
    if (!res.ok) {
      void res.body?.cancel();
      return {
        ok: false,
        status: res.status,
        retryAfterMs: retryAfterMs(res.headers.get('retry-after'), receivedAt),
        error: `transport answered ${res.status}`,
        ...timed,
      };
    }
    const advice = (await res.json()) as TransportAdvice;
    if (advice?.transport !== 'sse' && advice?.transport !== 'poll')
      throw new Error('unexpected transport answer');
    return { ok: true, value: advice, ...timed };
  } catch (err) {
    return { ok: false, status: null, retryAfterMs: null, error: (err as Error).message };
  }
}

export type PollResult =
  | ({ kind: 'body'; body: PollBody; intervalMs: number | null; rulesVersion: number | null } & Timed)
  | ({ kind: 'not_modified'; intervalMs: number | null; rulesVersion: number | null } & Timed)
  | {
      kind: 'failed';
      status: number | null;
      retryAfterMs: number | null;
      error: string;
      timed: Timed | null;
    };

/**
 * One poll of `GET /v1/snapshot` with `If-None-Match` (the ETag is the position the client
 * holds). `cache: 'no-store'`: the browser cache must not answer for the gateway.
 */
export async function poll(
  d: HttpDeps,
  url: string,
  position: string | null,
  signal: AbortSignal,
): Promise<PollResult> {
  const sentAt = d.now();
  try {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (position !== null) headers['If-None-Match'] = `W/"${position}"`;
    const res = await d.fetch(url, { headers, cache: 'no-store', credentials: credentials(d), signal });
    const receivedAt = d.now();
    const timed: Timed = { sentAt, receivedAt, serverTime: serverTimeOf(res) };
    const interval = Number(res.headers.get('x-poll-interval-ms'));
    const intervalMs = Number.isFinite(interval) && interval > 0 ? interval : null;
    const rules = res.headers.get('x-switchyard-rules');
    const rulesVersion = rules !== null && /^\d+$/.test(rules) ? Number(rules) : null;
    if (res.status === 304) return { kind: 'not_modified', intervalMs, rulesVersion, ...timed };
    if (!res.ok) {
      return {
        kind: 'failed',
        status: res.status,
        retryAfterMs: retryAfterMs(res.headers.get('retry-after'), receivedAt),
        error: await errorCode(res),
        timed,
      };
    }
    const body = (await res.json()) as PollBody;
    if (typeof body?.position !== 'string' || typeof body.streams !== 'object' || body.streams === null)
      throw new Error('unexpected snapshot body');
    return { kind: 'body', body, intervalMs, rulesVersion, ...timed };
  } catch (err) {
    return { kind: 'failed', status: null, retryAfterMs: null, error: (err as Error).message, timed: null };
  }
}

async function errorCode(res: Response): Promise<string> {
  try {
    const j = (await res.json()) as { error?: { code?: string } };
    return j.error?.code ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}
