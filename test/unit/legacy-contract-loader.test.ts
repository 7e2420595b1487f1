/** LEGACY_CONTRACTS: user contract modules loaded, validated and named in every problem. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  ContractLoadError,
  EXAMPLE_CONTRACTS,
  loadContracts,
  prepareContracts,
} from '../../legacy-adapter/contract-loader.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-contracts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A minimal valid contract module (plain JS, a stand-in zod schema). */
const contractSource = (name: string, streams = "{ board: 'table' }") => `
const shape = { safeParse: (v) => ({ success: true, data: v }) };
export default {
  name: ${JSON.stringify(name)},
  route: '/api/v2/board.json',
  version: 1,
  streams: ${streams},
  cacheControl: 'no-cache',
  volatile: [],
  shape,
  render: (view) => ({ rows: view.table('board').length }),
};
`;

function write(rel: string, text: string): string {
  const file = join(dir, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
  return file;
}

async function problemsOf(entries: string[]): Promise<string[]> {
  try {
    await loadContracts(entries);
  } catch (err) {
    assert.ok(err instanceof ContractLoadError, String(err));
    return err.problems;
  }
  assert.fail('expected a ContractLoadError');
}

describe('legacy contract loader', () => {
  test('a folder: every module in name order; helpers (_x, .d.ts, tests) skipped', async () => {
    write('ok/board.mjs', contractSource('board'));
    write(
      'ok/arrivals.js',
      `export default [${'{'}...(await import('./_shared.mjs')).base, name: 'arrivals' }];`,
    );
    write('ok/_shared.mjs', `export const base = (await import('./board.mjs')).default;`);
    write('ok/board.d.ts', 'export {};');
    write('ok/package.json', '{"type":"module"}');
    const loaded = await loadContracts([join(dir, 'ok')]);
    assert.deepEqual(
      loaded.map((l) => [l.contract.name, l.file]),
      [
        ['arrivals', join(dir, 'ok/arrivals.js')],
        ['board', join(dir, 'ok/board.mjs')],
      ],
    );
  });

  test('the bundled live-map example loads through the same mechanism', async () => {
    const loaded = await loadContracts(EXAMPLE_CONTRACTS);
    assert.deepEqual(
      loaded.map((l) => l.contract.name),
      ['live-map'],
    );
  });

  test('broken, empty, misshapen and clashing modules: every problem names its file', async () => {
    const syntax = write('bad/syntax.mjs', 'export default {');
    const none = write('bad/none.mjs', 'export const x = 1;');
    const shape = write('bad/shape.mjs', "export default { name: 'Bad Name', streams: { a: 'log' } };");
    const one = write('bad/one.mjs', contractSource('dup'));
    const two = write('bad/two.mjs', contractSource('dup'));
    const problems = await problemsOf([syntax, none, shape, one, two, join(dir, 'missing.mjs')]);
    const text = problems.join('\n');
    assert.match(text, new RegExp(`${syntax}: failed to load`));
    assert.match(text, new RegExp(`${none}: no default export`));
    assert.match(text, new RegExp(`${shape}: name: expected a string`));
    assert.match(text, new RegExp(`${shape}: streams.a: expected "table" or "feed"`));
    assert.match(text, new RegExp(`${shape}: render: expected a function`));
    assert.match(text, new RegExp(`${two}: contract name "dup" is also defined in ${one}`));
    assert.match(text, /missing\.mjs: no such file or folder/);
  });

  test('start-up check: the streams and modes a contract reads must be configured', async () => {
    const file = write('streams/board.mjs', contractSource('board', "{ board: 'feed' }"));
    const route = { name: 'board', path: '/api/v2/board.json', mode: 'shadow' as const, contract: null };
    await assert.rejects(
      prepareContracts({
        legacy: { contracts: [file], routes: [{ ...route, sampleRate: null }] },
        streams: [{ name: 'board', mode: 'table' }],
      }),
      (err: unknown) =>
        err instanceof ContractLoadError &&
        err.problems.some((p) => p.includes('reads stream "board" as a feed, but it is a table')),
    );
  });
});
