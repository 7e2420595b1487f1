/** switchyard.config.json: the env settings in a file, same schema, env and flags override it. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { envNameOf, fileKeyOf, readConfigFile } from '../../gateway/config/file.ts';
import { ConfigError, settingsSchema } from '../../gateway/config/load.ts';
import { loadConfig, loadSettings, SWITCHYARD_CONFIG_PARTS } from '../../gateway/switchyard.ts';
import { configCommand } from '../../scripts/config-command.ts';

/** Every setting: the core's and the extensions' (the legacy adapter's LEGACY_*). */
const envSchema = settingsSchema(SWITCHYARD_CONFIG_PARTS);

const dir = mkdtempSync(join(tmpdir(), 'switchyard-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return path;
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

const FULL = {
  $schema: './switchyard.schema.json',
  port: 9090,
  kafkaBrokers: ['k1:9092', 'k2:9092'],
  streams: [
    { name: 'board', mode: 'table', topic: 'app.board' },
    { name: 'moves', mode: 'feed', topic: 'app.moves', maxItems: 100 },
  ],
  legacyUrl: 'http://legacy:8081',
  legacyRoutes: [{ name: 'board', path: '/api/v2/board.json', mode: 'proxy' }],
  legacyContracts: ['./contracts'],
  adminToken: 'a-very-secret-admin-token',
  corsOrigins: ['https://app.example.com'],
  pollIntervalMs: 5000,
};

describe('config file', () => {
  test('every env setting has a file key, and back', () => {
    for (const name of Object.keys(envSchema.shape)) assert.equal(envNameOf(fileKeyOf(name)), name);
    assert.equal(fileKeyOf('LEGACY_SHADOW_MAX_PER_SECOND'), 'legacyShadowMaxPerSecond');
  });

  test('holds streams, routes, contracts, security and limits; relative paths from its folder', () => {
    const path = file('full.json', FULL);
    const c = loadConfig({}, ['--config', path]);
    assert.equal(c.port, 9090);
    assert.deepEqual(c.kafka?.brokers, ['k1:9092', 'k2:9092']);
    assert.deepEqual(
      c.streams.map((s) => [s.name, s.mode, s.topic]),
      [
        ['board', 'table', 'app.board'],
        ['moves', 'feed', 'app.moves'],
      ],
    );
    assert.equal(c.legacy.routes[0]?.path, '/api/v2/board.json');
    assert.deepEqual(c.legacy.contracts, [join(dir, 'contracts')]);
    assert.equal(c.admin.token, 'a-very-secret-admin-token');
    assert.deepEqual(c.security.corsOrigins, ['https://app.example.com']);
    // Scalars are read as the environment's strings would be; *_FILE paths from the file's folder.
    const raw = readConfigFile(file('kafka.json', { kafkaTls: true, kafkaTlsCaFile: 'ca.pem', port: 80 }));
    assert.deepEqual(raw.values, { KAFKA_TLS: 'true', KAFKA_TLS_CA_FILE: join(dir, 'ca.pem'), PORT: '80' });
    const flags = loadSettings({}, ['--config', file('bool.json', { rolloutCreateTopic: true })]).settings;
    assert.equal(flags.ROLLOUT_CREATE_TOPIC, true);
    // SWITCHYARD_CONFIG names it too.
    assert.equal(loadConfig({ SWITCHYARD_CONFIG: path }).pollIntervalMs, 5000);
  });

  test('environment variables override the file, and flags override both', () => {
    const path = file('override.json', FULL);
    const env = { SWITCHYARD_CONFIG: path, POLL_INTERVAL_MS: '7000', PORT: '9191' };
    const c = loadConfig(env, ['--port', '9292']);
    assert.equal(c.pollIntervalMs, 7000);
    assert.equal(c.port, 9292);
  });

  test('unknown keys, bad JSON and bad values are problems naming the file and the path', () => {
    const unknown = file('unknown.json', { port: 8080, pollIntervalMS: 5, legacy_url: 'http://x', bogus: 1 });
    const p = problemsOf(() => loadConfig({}, ['--config', unknown])).join('\n');
    assert.match(
      p,
      new RegExp(`${unknown}: pollIntervalMS: unknown setting \\(did you mean "pollIntervalMs"\\?\\)`),
    );
    assert.match(p, new RegExp(`${unknown}: legacy_url: unknown setting \\(did you mean "legacyUrl"\\?\\)`));
    assert.match(p, new RegExp(`${unknown}: bogus: unknown setting$`, 'm'));
    const near = file('near.json', { legacyRoute: [] });
    assert.match(
      problemsOf(() => loadConfig({}, ['--config', near]))[0]!,
      /legacyRoute: unknown setting \(did you mean "legacyRoutes"\?\)/,
    );

    const nested = file('nested.json', {
      streams: [{ name: 'board', mode: 'table', topic: 't', maxKeyz: 3 }],
      port: 'eighty',
    });
    const q = problemsOf(() => loadConfig({}, ['--config', nested])).join('\n');
    assert.match(q, new RegExp(`${nested}: streams\\.0: Unrecognized key: "maxKeyz"`));
    assert.match(q, new RegExp(`${nested}: port: `));

    const broken = file('broken.json', '{"port": 80,,}');
    assert.match(
      problemsOf(() => loadConfig({}, ['--config', broken]))[0]!,
      new RegExp(`${broken}: not valid JSON`),
    );
    assert.match(
      problemsOf(() => loadConfig({}, ['--config', join(dir, 'none.json')]))[0]!,
      /none\.json: no such config file/,
    );
  });

  test('config print: effective settings in file form, secrets masked; check: exit code', async () => {
    const path = file('print.json', {
      ...FULL,
      legacyContracts: undefined,
      legacyUrl: 'http://u:pw@legacy:8081',
    });
    const { settings } = loadSettings({}, ['--config', path]);
    assert.equal(settings.POLL_INTERVAL_MS, 5000);
    let out = '';
    const code = await configCommand(
      ['print', '--config', path],
      {},
      (s) => {
        out += s;
      },
      () => {},
    );
    assert.equal(code, 0);
    const printed = JSON.parse(out) as Record<string, unknown>;
    assert.equal(printed.adminToken, '********');
    assert.equal(printed.legacyUrl, 'http://u:********@legacy:8081');
    assert.equal(printed.pollIntervalMs, 5000);
    assert.doesNotMatch(out, /a-very-secret-admin-token|pw@/);
    let err = '';
    const bad = await configCommand(
      ['check', file('bad.json', { port: -1 })],
      {},
      () => {},
      (s) => {
        err += s;
      },
    );
    assert.equal(bad, 2);
    assert.match(err, /bad\.json: port: /);
  });
});
