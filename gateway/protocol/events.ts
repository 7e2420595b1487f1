import { encodeJsonEvent, encodeRetry } from './encoder.ts';
import { controlJson, gatewayErrorJson, SHUTDOWN_JSON, snapshotJson, statusJson } from './json.ts';
import type { ControlEventData, GatewayErrorEventData, ResyncReason, StatusEventData } from './types.ts';

/** The names of the events the gateway sends on `/v1/stream`. */
export const EVENT = Object.freeze({
  snapshot: 'snapshot',
  update: 'update',
  status: 'status',
  control: 'control',
  shutdown: 'shutdown',
  /**
   * Not `error`: an `error` event sent by the server reaches `EventSource.onerror` together with
   * the connection errors (and fires it twice), so a page could not tell "the gateway said why"
   * from "the network failed".
   */
  gatewayError: 'gateway-error',
} as const);

/** The framed `snapshot` event; its id is the position. */
export function snapshotEvent(
  serverTime: number,
  resyncReason: ResyncReason | null,
  position: string,
  streams: string,
): string {
  return encodeJsonEvent(EVENT.snapshot, position, snapshotJson(serverTime, resyncReason, position, streams));
}

/** The framed `update` event: `data` is the update's shared payload (json.ts `updateJson`), `id` the position after it. */
export function updateEvent(id: string, data: string): string {
  return encodeJsonEvent(EVENT.update, id, data);
}

/** The framed `status` event (no id: it does not move the client's resume point). */
export function statusEvent(s: StatusEventData): string {
  return encodeJsonEvent(EVENT.status, undefined, statusJson(s));
}

/** The framed `control` event (no id). */
export function controlEvent(c: ControlEventData): string {
  return encodeJsonEvent(EVENT.control, undefined, controlJson(c));
}

/** `retry:` and the `shutdown` event: the last words of a draining instance. */
export function shutdownEvent(retryMs: number): string {
  return encodeRetry(retryMs) + encodeJsonEvent(EVENT.shutdown, undefined, SHUTDOWN_JSON);
}

/** The framed `gateway-error` event, preceded by `retry:` when `retryMs` is given. */
export function gatewayErrorEvent(e: GatewayErrorEventData, retryMs?: number): string {
  const event = encodeJsonEvent(EVENT.gatewayError, undefined, gatewayErrorJson(e));
  return retryMs === undefined ? event : encodeRetry(retryMs) + event;
}
