/**
 * Rollout rules: what validates and what is refused (with a message naming the field), the
 * precedence of kill switch, lists and percentage, and the documented default for clients
 * without a usable id.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseClientId } from '../../gateway/http/client-id.ts';
import { decide } from '../../gateway/rollout/decide.ts';
import {
  compileRules,
  MAX_LIST_ENTRIES,
  parseRules,
  type RolloutRules,
} from '../../gateway/rollout/rules.ts';

function rules(input: unknown): RolloutRules {
  const r = parseRules(input);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.rules;
}

function problems(input: unknown): string[] {
  const r = parseRules(input);
  assert.equal(r.ok, false, `expected ${JSON.stringify(input)?.slice(0, 80)} to be refused`);
  return r.ok ? [] : r.problems;
}

describe('rollout rules validation', () => {
  test('fills defaults for omitted fields', () => {
    assert.deepEqual(rules({ percent: 12.5 }), {
      percent: 12.5,
      killSwitch: false,
      allow: [],
      deny: [],
      anonymous: 'poll',
      recheckAfterMs: 60_000,
    });
  });

  test('refuses bad values, naming the field', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /^percent: /],
      [{ percent: -1 }, /^percent: .*>=0/],
      [{ percent: 101 }, /^percent: .*<=100/],
      [{ percent: '50' }, /^percent: .*expected number/],
      [{ percent: 33.333 }, /^percent: at most two decimals/],
      [{ percent: 10, killSwitch: 'yes' }, /^killSwitch: /],
      [{ percent: 10, allow: ['ok', 'has space'] }, /^allow\.1: must match/],
      [{ percent: 10, deny: ['x'.repeat(129)] }, /^deny\.0: must match/],
      [{ percent: 10, allow: ['a'], deny: ['a'] }, /^deny: listed in both allow and deny: a/],
      [{ percent: 10, anonymous: 'websocket' }, /^anonymous: /],
      [{ percent: 10, recheckAfterMs: 10 }, /^recheckAfterMs: /],
      [{ percent: 10, percentage: 20 }, /[Uu]nrecognized key.*percentage/],
      [null, /expected object/],
      [[{ percent: 10 }], /expected object/],
    ];
    for (const [input, pattern] of cases) {
      const p = problems(input);
      assert.ok(
        p.some((m) => pattern.test(m)),
        `${JSON.stringify(input)}: ${p.join(' | ')} !~ ${pattern}`,
      );
    }
  });

  test('bounds the lists', () => {
    const many = Array.from({ length: MAX_LIST_ENTRIES + 1 }, (_, i) => `id-${i}`);
    assert.match(problems({ percent: 1, allow: many })[0] ?? '', /^allow: /);
    assert.equal(parseRules({ percent: 1, allow: many.slice(1) }).ok, true);
  });
});

describe('decide', () => {
  const compiled = (input: unknown) => compileRules(rules(input), 7, 1);

  test('kill switch > deny > allow > percentage', () => {
    const r = compiled({ percent: 100, allow: ['vip'], deny: ['blocked'] });
    assert.deepEqual(pick(decide(r, 'blocked')), ['poll', 'deny_list']);
    assert.deepEqual(pick(decide(r, 'vip')), ['sse', 'allow_list']);
    assert.deepEqual(pick(decide(r, 'anyone')), ['sse', 'rollout']);
    const zero = compiled({ percent: 0, allow: ['vip'] });
    assert.deepEqual(pick(decide(zero, 'vip')), ['sse', 'allow_list']);
    assert.deepEqual(pick(decide(zero, 'anyone')), ['poll', 'rollout']);
    const killed = compiled({ percent: 100, killSwitch: true, allow: ['vip'] });
    for (const id of ['vip', 'anyone', null])
      assert.deepEqual(pick(decide(killed, id)), ['poll', 'kill_switch']);
  });

  test('a missing or malformed id gets the documented `anonymous` decision, not an error', () => {
    for (const raw of [undefined, '', 'has space', 'ü', 'x'.repeat(129), ['a', 'b'], { a: 1 }, 42]) {
      const id = parseClientId(raw);
      assert.equal(id, null, `${JSON.stringify(raw)} is not an id`);
      assert.deepEqual(pick(decide(compiled({ percent: 100 }), id)), ['poll', 'no_client_id']);
      assert.deepEqual(pick(decide(compiled({ percent: 0, anonymous: 'sse' }), id)), ['sse', 'no_client_id']);
    }
    assert.equal(parseClientId('user-42:tab.1_a'), 'user-42:tab.1_a');
  });

  test('reports the bucket it decided on', () => {
    const d = decide(compiled({ percent: 50 }), 'alice');
    assert.equal(d.bucket, 586);
    assert.equal(d.transport, 'sse', 'bucket 586 < 5000');
  });
});

const pick = (d: { transport: string; reason: string }) => [d.transport, d.reason];
