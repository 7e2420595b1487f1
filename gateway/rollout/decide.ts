import { bucketOf, inRollout } from './bucket.ts';
import type { CompiledRules } from './rules.ts';

export type TransportName = 'sse' | 'poll';
export type DecisionReason = 'kill_switch' | 'deny_list' | 'allow_list' | 'no_client_id' | 'rollout';

/** The answer of `GET /v1/transport` (also the payload of a `control` event). */
export interface Decision {
  transport: TransportName;
  reason: DecisionReason;
  /** The client's bucket in [0, 10000); null without a usable client id. */
  bucket: number | null;
}

/**
 * Pure: which transport a client should use under the given rules. `clientId` is null when the
 * request had no well-formed id (the documented `anonymous` default applies).
 */
export function decide(compiled: CompiledRules, clientId: string | null, bucket?: number): Decision {
  const { rules } = compiled;
  const b = clientId === null ? null : (bucket ?? bucketOf(clientId));
  if (rules.killSwitch) return { transport: 'poll', reason: 'kill_switch', bucket: b };
  if (clientId === null) return { transport: rules.anonymous, reason: 'no_client_id', bucket: null };
  if (compiled.deny.has(clientId)) return { transport: 'poll', reason: 'deny_list', bucket: b };
  if (compiled.allow.has(clientId)) return { transport: 'sse', reason: 'allow_list', bucket: b };
  return { transport: inRollout(b!, rules.percent) ? 'sse' : 'poll', reason: 'rollout', bucket: b };
}
