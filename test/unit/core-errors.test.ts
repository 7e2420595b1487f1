/**
 * The error catalogue (gateway/errors.ts) and its documentation (docs/errors.md) cannot drift
 * apart: the table must list every code exactly once, with the same HTTP status, a meaning and
 * what the client should do. Also: how errors are rendered to clients.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { ERROR_CATALOGUE, type ErrorCode, GatewayError, toGatewayError } from '../../gateway/errors.ts';

const DOC = new URL('../../docs/errors.md', import.meta.url);

interface Row {
  code: string;
  status: number;
  meaning: string;
  action: string;
}

/** Rows of the markdown table whose header is `code | HTTP status | meaning | what the client should do`. */
function documentedRows(): Row[] {
  const lines = readFileSync(DOC, 'utf8').split('\n');
  const header = lines.findIndex((l) =>
    /^\|\s*code\s*\|\s*HTTP status\s*\|\s*meaning\s*\|\s*what the client should do\s*\|$/i.test(l.trim()),
  );
  assert.ok(
    header >= 0,
    'docs/errors.md has the table header: | code | HTTP status | meaning | what the client should do |',
  );
  const rows: Row[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.trim().startsWith('|')) break;
    const cells = line
      .trim()
      .replace(/^\||\|$/g, '')
      .split('|')
      .map((c) => c.trim());
    assert.equal(cells.length, 4, `four cells: ${line}`);
    rows.push({
      code: cells[0]!.replace(/`/g, ''),
      status: Number(cells[1]),
      meaning: cells[2]!,
      action: cells[3]!,
    });
  }
  return rows;
}

describe('error catalogue', () => {
  test('docs/errors.md documents exactly the catalogue, with the same statuses', () => {
    const rows = documentedRows();
    const documented = rows.map((r) => r.code);
    const catalogue = Object.keys(ERROR_CATALOGUE);
    assert.deepEqual(
      documented.filter((c, i) => documented.indexOf(c) !== i),
      [],
      'no code is documented twice',
    );
    assert.deepEqual(
      catalogue.filter((c) => !documented.includes(c)),
      [],
      'codes missing from docs/errors.md',
    );
    assert.deepEqual(
      documented.filter((c) => !catalogue.includes(c)),
      [],
      'codes in docs/errors.md that gateway/errors.ts does not have',
    );
    for (const r of rows) {
      assert.equal(r.status, ERROR_CATALOGUE[r.code as ErrorCode].status, `HTTP status of ${r.code}`);
      assert.ok(r.meaning.length > 5, `${r.code} has a meaning`);
      assert.ok(r.action.length > 5, `${r.code} says what the client should do`);
    }
  });

  test('every status is an HTTP error status and every default message is a sentence', () => {
    for (const [code, e] of Object.entries(ERROR_CATALOGUE)) {
      assert.ok(e.status >= 400 && e.status <= 599, code);
      assert.match(e.message, /^[A-Z].*\.$/, code);
      assert.match(code, /^[A-Z][A-Z_]*$/);
    }
  });

  test('GatewayError renders the code, message and details; never a stack', () => {
    const e = new GatewayError('UNKNOWN_STREAM', 'unknown stream "x"', { details: { stream: 'x' } });
    assert.equal(e.status, 400);
    assert.deepEqual(e.toJSON(), {
      error: { code: 'UNKNOWN_STREAM', message: 'unknown stream "x"', stream: 'x' },
    });
    assert.equal(new GatewayError('NOT_READY').message, ERROR_CATALOGUE.NOT_READY.message);
    const internal = toGatewayError(new Error('/secret/path exploded'));
    assert.equal(internal.code, 'INTERNAL');
    assert.ok(!JSON.stringify(internal.toJSON()).includes('secret'));
  });
});
