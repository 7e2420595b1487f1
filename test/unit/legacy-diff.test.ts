/** The shadow diff: structural issues (contract bugs) kept apart from value drift. Pure. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { diffJson } from '../../legacy-adapter/shadow/diff.ts';

const row = (id: string, amount: number) => ({ order_id: id, amount: { value: amount, currency: 'EUR' } });

describe('diffJson', () => {
  test('equal documents: no issue, no drift', () => {
    const doc = { a: 1, list: [row('o1', 2), row('o2', 3)], s: 'x', n: null, b: true };
    assert.deepEqual(diffJson(doc, structuredClone(doc)), {
      structural: [],
      driftCount: 0,
      driftSamples: [],
    });
  });

  test('a renamed field in every row is one missing and one extra issue, on the normalised path', () => {
    const legacy = { list: [row('o1', 1), row('o2', 2), row('o3', 3)] };
    const rendered = {
      list: legacy.list.map(({ order_id, ...rest }) => ({ orderId: order_id, ...rest })),
    };
    const d = diffJson(legacy, rendered);
    assert.deepEqual(d.structural, [
      { path: 'list[].order_id', kind: 'missing', legacy: 'string' },
      { path: 'list[].orderId', kind: 'extra', rendered: 'string' },
    ]);
    assert.equal(d.driftCount, 0);
  });

  test('a type change is structural; null against a value is drift (nullable field)', () => {
    const d = diffJson({ a: 1, b: 'x', c: null, d: [1] }, { a: '1', b: 'x', c: 5, d: { 0: 1 } });
    assert.deepEqual(d.structural, [
      { path: 'a', kind: 'type', legacy: 'number', rendered: 'string' },
      { path: 'd', kind: 'type', legacy: 'array', rendered: 'object' },
    ]);
    assert.equal(d.driftCount, 1);
    assert.deepEqual(d.driftSamples, [{ path: 'c', legacy: null, rendered: 5 }]);
  });

  test('different values and lengths are drift, with concrete paths', () => {
    const d = diffJson(
      { list: [row('o1', 1), row('o2', 2)] },
      { list: [row('o1', 1), row('o2', 9), row('o3', 3)] },
    );
    assert.deepEqual(d.structural, []);
    assert.equal(d.driftCount, 2);
    assert.deepEqual(d.driftSamples, [
      { path: 'list.length', legacy: 2, rendered: 3 },
      { path: 'list[1].amount.value', legacy: 2, rendered: 9 },
    ]);
  });

  test('volatile paths: value ignored, presence and type still checked', () => {
    const volatile = new Set(['generated_at', 'list[].at']);
    const legacy = { generated_at: '2024-01-01T00:00:00Z', list: [{ at: 'x', v: 1 }] };
    assert.equal(
      diffJson(legacy, { generated_at: '2025-01-01T00:00:00Z', list: [{ at: 'y', v: 1 }] }, { volatile })
        .driftCount,
      0,
    );
    const missing = diffJson(legacy, { list: [{ at: 5, v: 1 }] }, { volatile });
    assert.deepEqual(missing.structural, [
      { path: 'generated_at', kind: 'missing', legacy: 'string' },
      { path: 'list[].at', kind: 'type', legacy: 'string', rendered: 'number' },
    ]);
  });

  test('keyed arrays: a row changing rank is one order difference, rows only one side has are drift', () => {
    const arrayKeys = new Map([['list', 'order_id']]);
    const legacy = { list: [row('a', 1), row('b', 2), row('c', 3), row('d', 4)] };
    const rendered = { list: [row('b', 2), row('a', 1), row('c', 3), row('e', 5)] };
    const d = diffJson(legacy, rendered, { arrayKeys });
    assert.deepEqual(d.structural, []);
    assert.deepEqual(
      d.driftSamples.map((s) => s.path),
      ['list[order_id=d]', 'list[order_id=e]', 'list (order)'],
    );
    // By index the same change would touch every row.
    assert.ok(diffJson(legacy, rendered).driftCount > d.driftCount);
  });

  test('keyed arrays fall back to index order when the key field is renamed: still structural', () => {
    const arrayKeys = new Map([['list', 'order_id']]);
    const legacy = { list: [row('a', 1)] };
    const rendered = { list: [{ id: 'a', amount: { value: 1, currency: 'EUR' } }] };
    const d = diffJson(legacy, rendered, { arrayKeys });
    assert.deepEqual(
      d.structural.map((s) => `${s.kind} ${s.path}`),
      ['missing list[].order_id', 'extra list[].id'],
    );
  });

  test('issues and samples are capped; odd keys are quoted in paths', () => {
    const legacy = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]));
    const d = diffJson(legacy, {}, { maxIssues: 5 });
    assert.equal(d.structural.length, 5);
    const many = diffJson(
      { a: Array.from({ length: 50 }, (_, i) => i) },
      { a: Array.from({ length: 50 }, () => -1) },
    );
    assert.equal(many.driftCount, 50);
    assert.equal(many.driftSamples.length, 10);
    assert.deepEqual(diffJson({ 'a b': 1 }, {}).structural, [
      { path: '["a b"]', kind: 'missing', legacy: 'number' },
    ]);
  });
});
