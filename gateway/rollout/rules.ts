import { z } from 'zod';
import { CLIENT_ID_PATTERN } from '../http/client-id.ts';

/** Longest allow or deny list: the lists are for canaries and exceptions, not for cohorts. */
export const MAX_LIST_ENTRIES = 10_000;

const clientId = z.string().regex(CLIENT_ID_PATTERN, 'must match ^[A-Za-z0-9._:-]{1,128}$');

/**
 * Transport rollout rules, as an operator writes them (`PUT /v1/admin/rollout`, full
 * replacement: omitted fields take their defaults). Precedence, first match wins:
 * killSwitch -> deny -> allow -> no/malformed client id (`anonymous`) -> percentage bucket.
 */
export const rulesSchema = z
  .object({
    /** Share of clients sent to SSE, 0-100 in steps of 0.01. */
    percent: z
      .number()
      .min(0)
      .max(100)
      .refine((p) => Math.abs(p * 100 - Math.round(p * 100)) < 1e-6, 'at most two decimals'),
    /** Everyone polls, whatever else the rules say; streaming clients are told to switch now. */
    killSwitch: z.boolean().default(false),
    /** Client ids that always stream (unless the kill switch is on). */
    allow: z.array(clientId).max(MAX_LIST_ENTRIES).default([]),
    /** Client ids that always poll. */
    deny: z.array(clientId).max(MAX_LIST_ENTRIES).default([]),
    /** Decision for requests with no usable client id. */
    anonymous: z.enum(['poll', 'sse']).default('poll'),
    /** How often a polling kit asks again whether it may stream. */
    recheckAfterMs: z.number().int().min(1000).max(3_600_000).default(60_000),
    /** Free text for the audit trail ("canary EU", "incident 1234"). */
    note: z.string().max(500).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const allow = new Set(r.allow);
    const both = [...new Set(r.deny)].filter((id) => allow.has(id));
    if (both.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['deny'],
        message: `listed in both allow and deny: ${both.slice(0, 5).join(', ')}`,
      });
  });

export type RolloutRules = z.output<typeof rulesSchema>;

/** The rules in force before anyone published any. */
export function defaultRules(initialPercent: number): RolloutRules {
  return rulesSchema.parse({ percent: initialPercent });
}

export type RulesParse = { ok: true; rules: RolloutRules } | { ok: false; problems: string[] };

/** Validates submitted rules; every problem is listed with the field it concerns. Never throws. */
export function parseRules(input: unknown): RulesParse {
  const parsed = rulesSchema.safeParse(input);
  if (parsed.success) return { ok: true, rules: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.slice(0, 20).map((i) => {
      const path = i.path.map(String).join('.');
      return path ? `${path}: ${i.message}` : i.message;
    }),
  };
}

/** Rules with their lists as sets, ready for per-request decisions. */
export interface CompiledRules {
  readonly rules: RolloutRules;
  readonly allow: ReadonlySet<string>;
  readonly deny: ReadonlySet<string>;
  /** Monotone per store (the Kafka offset of the record, or a counter in memory); 0: defaults. */
  readonly version: number;
  /** When the rules were published (epoch ms), null for the defaults. */
  readonly updatedAt: number | null;
}

export function compileRules(rules: RolloutRules, version: number, updatedAt: number | null): CompiledRules {
  return { rules, allow: new Set(rules.allow), deny: new Set(rules.deny), version, updatedAt };
}
