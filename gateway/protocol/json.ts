import type {
  ControlEventData,
  GatewayErrorEventData,
  ResyncReason,
  StatusEventData,
  UpdateOp,
} from './types.ts';

/**
 * Builders of the JSON the gateway sends (docs/protocol.md). Values arrive already serialised
 * (`valueJson`, a rendered `streams` object) because the cache keeps them that way: each is
 * written into the output as is, never parsed again. Stream names are configuration tokens
 * (letters, digits, `._-`), so they need no escaping; keys are escaped with JSON.stringify.
 * Member order is part of the output: existing clients and tests compare bodies byte for byte.
 */

/** A table row as the snapshot carries it: `{"value":...,"createdAt":...}`. */
export function tableEntryJson(valueJson: string, createdAt: number): string {
  return `{"value":${valueJson},"createdAt":${createdAt}}`;
}

/** A feed item: `{"key":...,"value":...,"createdAt":...}`. */
export function feedItemJson(key: string | null, valueJson: string, createdAt: number): string {
  return `{"key":${key === null ? 'null' : JSON.stringify(key)},"value":${valueJson},"createdAt":${createdAt}}`;
}

/** A table stream from its rows (each with its {@link tableEntryJson}). */
export function tableStreamJson(rows: Iterable<{ readonly key: string; readonly json: string }>): string {
  const parts: string[] = [];
  for (const row of rows) parts.push(`${JSON.stringify(row.key)}:${row.json}`);
  return `{"mode":"table","entries":{${parts.join(',')}}}`;
}

/** A feed stream from its items, oldest first (each with its {@link feedItemJson}). */
export function feedStreamJson(maxItems: number, items: Iterable<{ readonly json: string }>): string {
  const parts: string[] = [];
  for (const item of items) parts.push(item.json);
  return `{"mode":"feed","maxItems":${maxItems},"items":[${parts.join(',')}]}`;
}

/** The `streams` object of a snapshot or poll body, from each stream's rendered JSON. */
export function streamsJson(streams: Iterable<{ readonly name: string; readonly json: string }>): string {
  const parts: string[] = [];
  for (const s of streams) parts.push(`"${s.name}":${s.json}`);
  return `{${parts.join(',')}}`;
}

/**
 * The `update` payload. Built once per applied change and shared by every client (the hot
 * path: one template string, nothing parsed). `valueJson` null: a `delete`, without `value`.
 */
export function updateJson(
  stream: string,
  op: UpdateOp,
  key: string | null,
  valueJson: string | null,
  createdAt: number,
  appliedAt: number,
): string {
  const k = key === null ? 'null' : JSON.stringify(key);
  const v = valueJson === null ? '' : `,"value":${valueJson}`;
  return `{"stream":"${stream}","op":"${op}","key":${k}${v},"createdAt":${createdAt},"appliedAt":${appliedAt}}`;
}

/** The `snapshot` payload; `resyncReason` null on a fresh connection. */
export function snapshotJson(
  serverTime: number,
  resyncReason: ResyncReason | null,
  position: string,
  streams: string,
): string {
  const resync = resyncReason === null ? '"resync":false' : `"resync":true,"reason":"${resyncReason}"`;
  return `{"serverTime":${serverTime},${resync},"position":"${position}","streams":${streams}}`;
}

/** The body of `GET /v1/snapshot`: the position and the same `streams` a snapshot carries. */
export function pollBodyJson(position: string, streams: string): string {
  return `{"position":"${position}","streams":${streams}}`;
}

/** The `status` payload. */
export function statusJson(s: StatusEventData): string {
  return JSON.stringify({ stale: s.stale, staleMs: s.staleMs, serverTime: s.serverTime, streams: s.streams });
}

/** The `control` payload (members in this order; absent ones omitted). */
export function controlJson(c: ControlEventData): string {
  return JSON.stringify({
    transport: c.transport,
    reason: c.reason,
    pollIntervalMs: c.pollIntervalMs,
    recheckAfterMs: c.recheckAfterMs,
    rulesVersion: c.rulesVersion,
  });
}

/** The `shutdown` payload: always the same. */
export const SHUTDOWN_JSON = '{"code":"SHUTTING_DOWN","reconnect":true}';

/** The `gateway-error` payload (members in this order; absent ones omitted). */
export function gatewayErrorJson(e: GatewayErrorEventData): string {
  return JSON.stringify({ code: e.code, message: e.message, reconnect: e.reconnect, retryMs: e.retryMs });
}
