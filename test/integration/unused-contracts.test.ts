/**
 * A contract the user loads but no route uses is reported at start-up (a warning line naming its
 * file, with the streams that would make a switch to it fail), by `config check`, and listed as
 * unused by `GET /v1/admin/contracts`; the bundled example, loaded when LEGACY_CONTRACTS is not
 * set, is not reported. A gateway process on the embedded demo feed (orders feed, totals table):
 * no broker, a few seconds.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { LegacyConfig } from '../../legacy-adapter/config.ts';
import { loadContracts, unusedContractWarnings } from '../../legacy-adapter/contract-loader.ts';
import { configCommand } from '../../scripts/config-command.ts';
import { GatewayProcess } from '../helpers/gateway-process.ts';

const ADMIN = 'unused-contracts-admin-token-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'switchyard-unused-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A contract module of the function form (needs no import) reading `streams`. */
const contract = (name: string, streams: string) => `export default ({ z, defineContract }) =>
  defineContract({
    name: '${name}',
    route: '/api/${name}.json',
    version: 1,
    streams: ${streams},
    cacheControl: 'no-cache',
    volatile: [],
    shape: z.object({ n: z.number() }).strict(),
    render: (view) => ({ n: view.position.length }),
  });
`;

mkdirSync(join(dir, 'contracts'));
const files = {
  board: join(dir, 'contracts', 'board.mjs'),
  spare: join(dir, 'contracts', 'spare.mjs'),
  broken: join(dir, 'contracts', 'stale.mjs'),
};
writeFileSync(files.board, contract('board', "{ totals: 'table' }"));
writeFileSync(files.spare, contract('spare', "{ orders: 'feed' }"));
writeFileSync(files.broken, contract('stale', "{ departures: 'table', orders: 'table' }"));
const STREAMS = [
  { name: 'orders', mode: 'feed' as const },
  { name: 'totals', mode: 'table' as const },
];
const route = {
  name: 'board',
  path: '/api/board.json',
  mode: 'proxy' as const,
  contract: null,
  sampleRate: null,
};

describe('unused contracts', () => {
  test('each unused contract of the user gives one warning naming its file and what a switch would refuse', async () => {
    const loaded = await loadContracts([join(dir, 'contracts')]);
    const legacy: Pick<LegacyConfig, 'routes' | 'contracts'> = {
      routes: [route],
      contracts: [join(dir, 'contracts')],
    };
    const warnings = unusedContractWarnings({ legacy, streams: STREAMS }, loaded);
    assert.deepEqual(warnings, [
      `${files.spare}: contract "spare" is loaded but no legacy route uses it (LEGACY_ROUTES)`,
      `${files.broken}: contract "stale" is loaded but no legacy route uses it (LEGACY_ROUTES); a route switched to it would be refused: ` +
        'contract "stale" reads stream "departures", which STREAMS does not configure; ' +
        'contract "stale" reads stream "orders" as a table, but it is a feed',
    ]);
    // Every contract used: nothing to say. The bundled example (no LEGACY_CONTRACTS): not the user's.
    const all = [
      route,
      { ...route, name: 'x', contract: 'spare' },
      { ...route, name: 'y', contract: 'stale' },
    ];
    assert.deepEqual(
      unusedContractWarnings({ legacy: { ...legacy, routes: all }, streams: STREAMS }, loaded),
      [],
    );
    assert.deepEqual(
      unusedContractWarnings({ legacy: { routes: [], contracts: null }, streams: STREAMS }, loaded),
      [],
    );
  });

  test('`config check` prints the warnings and still passes', async () => {
    let out = '';
    let err = '';
    const code = await configCommand(
      [
        'check',
        '--legacy-contracts',
        join(dir, 'contracts'),
        '--legacy-routes',
        'board:/api/board.json:proxy',
      ],
      { LEGACY_URL: 'http://127.0.0.1:9' },
      (s) => {
        out += s;
      },
      (s) => {
        err += s;
      },
    );
    assert.equal(code, 0, err);
    assert.match(out, /valid \(2 streams, 1 legacy routes, 3 contracts/);
    assert.equal(err.split('\n').filter((l) => l.startsWith('warning: ')).length, 2, err);
    assert.ok(
      err.includes(`warning: ${files.spare}: contract "spare" is loaded but no legacy route uses it`),
      err,
    );
  });

  test('the gateway logs one warning line per unused contract at start; the admin API lists them as unused', async (t) => {
    const gw = await GatewayProcess.start({
      env: {
        LEGACY_CONTRACTS: join(dir, 'contracts'),
        LEGACY_ROUTES: 'board:/api/board.json:proxy',
        LEGACY_URL: 'http://127.0.0.1:9',
        ADMIN_TOKEN: ADMIN,
        SWITCHYARD_CONFIG: '',
        WORKERS: '1',
      },
      unsetEnv: ['KAFKA_BROKERS'],
      name: 'unused-contracts',
    });
    t.after(() => gw.stop());
    const warnings = gw.logs
      .split('\n')
      .filter((l) => l.includes('is loaded but no legacy route uses it'))
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    assert.deepEqual(
      warnings.map((w) => [w.level, w.msg.split(':')[0]]),
      [
        [40, files.spare],
        [40, files.broken],
      ],
      gw.logs,
    );
    const res = await fetch(`${gw.url}/v1/admin/contracts`, {
      headers: { authorization: `Bearer ${ADMIN}` },
    });
    assert.equal(res.status, 200);
    const { contracts } = (await res.json()) as {
      contracts: { name: string; file: string; usedBy: string[]; unused: boolean; problems: string[] }[];
    };
    assert.deepEqual(
      contracts.map((c) => [c.name, c.file, c.usedBy, c.unused, c.problems.length]),
      [
        ['board', files.board, ['board'], false, 0],
        ['spare', files.spare, [], true, 0],
        ['stale', files.broken, [], true, 2],
      ],
    );
  });
});
