/** Configuration: validated once, every problem named by its variable, CLI flags win over env. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { z } from 'zod';
import type { ConfigPart } from '../../gateway/config/config-part.ts';
import {
  ConfigError,
  DEMO_STREAMS,
  loadConfig as loadCore,
  settingsSchema,
} from '../../gateway/config/load.ts';
import { loadConfig, SWITCHYARD_CONFIG_PARTS } from '../../gateway/switchyard.ts';

/** Every setting: the core's and the extensions' (the legacy adapter's LEGACY_*). */
const envSchema = settingsSchema(SWITCHYARD_CONFIG_PARTS);

function problemsOf(env: Record<string, string>, argv: string[] = []): string[] {
  try {
    loadConfig(env, argv);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    assert.match(err.message, /^Invalid configuration:\n/);
    return err.problems;
  }
  assert.fail(`expected ${JSON.stringify(env)} ${argv.join(' ')} to be refused`);
}

describe('loadConfig', () => {
  test("an extension's part adds its settings and its key; redefining a setting is refused", () => {
    const part: ConfigPart<'extra', { level: number }> = {
      key: 'extra',
      shape: { EXTRA_LEVEL: z.coerce.number().int().min(1).default(3) },
      resolve: (s) => ({ value: { level: s.EXTRA_LEVEL as number }, problems: [] }),
    };
    const parts = [part] as const;
    assert.equal(loadCore({ EXTRA_LEVEL: '7' }, [], { parts }).extra.level, 7);
    assert.equal(loadCore({}, ['--extra-level', '2'], { parts }).extra.level, 2);
    assert.throws(() => loadCore({ EXTRA_LEVEL: '0' }, [], { parts }), /EXTRA_LEVEL: Too small/);
    // Without the part the setting is not known: a flag for it is refused, a variable ignored.
    assert.throws(() => loadCore({}, ['--extra-level', '2']), /--extra-level: unknown flag/);
    assert.throws(
      () => loadCore({}, [], { parts: [{ ...part, shape: { PORT: z.string() } }] }),
      /config part "extra" redefines the setting PORT/,
    );
  });

  test('defaults', () => {
    const c = loadConfig({});
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.port, 8080);
    assert.equal(c.logLevel, 'info');
    assert.equal(c.kafka, null, 'no KAFKA_BROKERS: the embedded demo feed');
    assert.deepEqual(
      c.streams.map((s) => [s.name, s.mode, s.topic]),
      DEMO_STREAMS.split(',').map((p) => p.split(':')),
    );
    assert.equal(c.staleAfterMs, 30_000);
    assert.equal(c.pollIntervalMs, 10_000);
    assert.equal(c.heartbeatMs, 15_000);
    assert.equal(c.retryMs, 3000);
    assert.equal(c.historySize, 10_000);
    assert.equal(c.clientBufferBytes, 1024 * 1024);
    assert.equal(c.maxStreamsPerRequest, 16);
    assert.equal(c.demoRate, 20);
    assert.equal(c.shutdownDrainMs, 10_000);
    assert.deepEqual(c.admin, { token: null, readToken: null });
    const s = c.streams[0]!;
    assert.deepEqual(
      { maxKeys: s.maxKeys, ttlMs: s.ttlMs, maxItems: s.maxItems, maxRecordBytes: s.maxRecordBytes },
      { maxKeys: 100_000, ttlMs: 0, maxItems: 500, maxRecordBytes: 256 * 1024 },
    );
    assert.equal(s.timestampField, undefined);
  });

  test('values are coerced; empty means unset; the result is deeply frozen', () => {
    const c = loadConfig({ PORT: '9090', HOST: '', KAFKA_BROKERS: 'a:9092,b:9093', KAFKA_CLIENT_ID: 'gw' });
    assert.equal(c.port, 9090);
    assert.equal(c.host, '0.0.0.0');
    assert.deepEqual(c.kafka?.brokers, ['a:9092', 'b:9093']);
    assert.equal(c.kafka?.clientId, 'gw');
    assert.equal(c.kafka?.connectTimeoutMs, 3000);
    assert.equal(c.kafka?.maxRetryMs, 5000);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.streams) && Object.isFrozen(c.streams[0]));
    assert.throws(() => {
      (c as { port: number }).port = 1;
    }, TypeError);
  });

  for (const [name, value] of [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '80.5'],
    ['LOG_LEVEL', 'loud'],
    ['KAFKA_BROKERS', 'localhost'],
    ['KAFKA_BROKERS', 'a:1 b:2'],
    ['KAFKA_BROKERS', 'https://a:9092'],
    ['KAFKA_CLIENT_ID', 'x'.repeat(101)],
    ['KAFKA_CONNECT_TIMEOUT_MS', '5'],
    ['KAFKA_MAX_RETRY_MS', 'soon'],
    ['STALE_AFTER_MS', '10'],
    ['POLL_INTERVAL_MS', '0'],
    ['HEARTBEAT_MS', '15s'],
    ['RETRY_MS', '-1'],
    ['HISTORY_SIZE', '1.5'],
    ['CLIENT_BUFFER_BYTES', '100'],
    ['MAX_STREAMS_PER_REQUEST', '0'],
    ['DEMO_RATE', '-3'],
    ['SHUTDOWN_DRAIN_MS', 'never'],
    ['ADMIN_TOKEN', 'short'],
    ['ADMIN_READ_TOKEN', 'short'],
    ['STREAMS', '[not json'],
    ['STREAMS', 'orders:tabel:t'],
    ['STREAMS', 'Orders:table:t'],
    ['STREAMS', 'orders:table:'],
    ['STREAMS', '[]'],
    ['STREAMS', '[{"name":"a","mode":"table","topic":"t","maxKeys":0}]'],
    ['STREAMS', '[{"name":"a","mode":"table","topic":"t","unknownOption":1}]'],
  ] as const) {
    test(`${name}=${JSON.stringify(value).slice(0, 40)} is refused, naming ${name}`, () => {
      const problems = problemsOf({ [name]: value });
      assert.ok(
        problems.some((p) => p.startsWith(name)),
        `a problem should name ${name}: ${JSON.stringify(problems)}`,
      );
    });
  }

  test('every variable of the schema: an invalid value names the variable', () => {
    const candidates = ['not-a-number', '-5', 'x', '99999999999999', '1.5', '[1', 'a:b:c:d'];
    let checked = 0;
    for (const name of Object.keys(envSchema.shape)) {
      const schema = envSchema.shape[name as keyof typeof envSchema.shape];
      const bad = candidates.find((v) => !schema.safeParse(v).success);
      if (bad === undefined) continue; // free-form strings (HOST...) accept all of these
      checked++;
      const problems = problemsOf({ [name]: bad });
      assert.ok(
        problems.some((p) => p.startsWith(name)),
        `${name}=${bad}: ${JSON.stringify(problems)}`,
      );
    }
    assert.ok(checked >= 15, `only ${checked} variables checked`);
  });

  test('all problems are reported together, and secrets are not echoed', () => {
    const problems = problemsOf({ PORT: 'x', HEARTBEAT_MS: '1', ADMIN_TOKEN: 'tiny-secret' });
    assert.equal(problems.length, 3);
    assert.match(problems[0]!, /^PORT: .*\(got "x"\)/);
    assert.ok(!problems.join('\n').includes('tiny-secret'));
  });

  test('STREAMS: JSON array and short form', () => {
    const json = loadConfig({
      STREAMS: JSON.stringify([
        { name: 'orders', topic: 'live.orders', mode: 'feed', maxItems: 50, timestampField: 'ts' },
        { name: 'totals', topic: 'live.totals', mode: 'table', maxKeys: 10, ttlMs: 60_000 },
      ]),
    });
    assert.deepEqual(
      json.streams.map((s) => [s.name, s.topic, s.mode, s.maxItems, s.maxKeys, s.ttlMs, s.timestampField]),
      [
        ['orders', 'live.orders', 'feed', 50, 100_000, 0, 'ts'],
        ['totals', 'live.totals', 'table', 500, 10, 60_000, undefined],
      ],
    );
    const short = loadConfig({ STREAMS: ' orders:feed:live.orders , totals:table:ns:live.totals ' });
    assert.deepEqual(
      short.streams.map((s) => [s.name, s.mode, s.topic]),
      [
        ['orders', 'feed', 'live.orders'],
        ['totals', 'table', 'ns:live.totals'],
      ],
    );
  });

  test('duplicate stream names or topics are refused', () => {
    assert.ok(
      problemsOf({ STREAMS: 'a:table:t1,a:feed:t2' }).some((p) => /STREAMS.*"a" is used twice/.test(p)),
    );
    assert.ok(
      problemsOf({ STREAMS: 'a:table:t,b:feed:t' }).some((p) =>
        /STREAMS.*topic "t" backs two streams/.test(p),
      ),
    );
  });

  test('invalid STREAMS JSON is reported once', () => {
    const problems = problemsOf({ STREAMS: '[{' });
    assert.equal(problems.filter((p) => p.startsWith('STREAMS')).length, 1);
  });

  test('CLI flags override the environment, in both spellings', () => {
    const c = loadConfig({ PORT: '1000', HEARTBEAT_MS: '5000', LOG_LEVEL: 'debug' }, [
      '--port',
      '2000',
      '--heartbeat-ms=700',
      '--streams',
      'x:table:tx',
    ]);
    assert.equal(c.port, 2000);
    assert.equal(c.heartbeatMs, 700);
    assert.equal(c.logLevel, 'debug', 'env kept where no flag is given');
    assert.deepEqual(
      c.streams.map((s) => s.name),
      ['x'],
    );
  });

  test('a bad flag value names the variable; unknown flags and stray arguments are refused', () => {
    assert.ok(problemsOf({}, ['--port', 'abc']).some((p) => p.startsWith('PORT')));
    assert.ok(
      problemsOf({}, ['--port']).some((p) => p.startsWith('PORT')),
      'a flag without its value',
    );
    assert.ok(problemsOf({}, ['--prot', '80']).some((p) => p.startsWith('--prot: unknown flag')));
    assert.ok(problemsOf({}, ['8080']).some((p) => p.startsWith('8080: unexpected argument')));
  });

  test('Schema Registry: required by registry-format streams; auth from a file; mistakes named', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-config-'));
    try {
      const streams = JSON.stringify([
        { name: 'trades', mode: 'table', topic: 't', format: 'avro' },
        { name: 'quotes', mode: 'feed', topic: 'q', keyFormat: 'protobuf' },
        { name: 'plain', mode: 'feed', topic: 'p' },
      ]);
      assert.deepEqual(problemsOf({ STREAMS: streams }), [
        'SCHEMA_REGISTRY_URL: required by stream(s) trades, quotes (format or keyFormat other than json/string)',
      ]);
      const plain = loadConfig({ STREAMS: 'p:feed:p' });
      assert.equal(plain.schemaRegistry, null);
      assert.equal(plain.streams[0]?.format, 'json');
      assert.equal(plain.streams[0]?.keyFormat, 'string');

      writeFileSync(join(dir, 'password'), 'file-secret-value\n');
      writeFileSync(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const c = loadConfig({
        STREAMS: streams,
        SCHEMA_REGISTRY_URL: 'https://registry.internal:8081',
        SCHEMA_REGISTRY_USERNAME: 'gateway',
        SCHEMA_REGISTRY_PASSWORD_FILE: join(dir, 'password'),
        SCHEMA_REGISTRY_CA_FILE: join(dir, 'ca.pem'),
      });
      assert.deepEqual(c.schemaRegistry, {
        url: 'https://registry.internal:8081',
        username: 'gateway',
        password: 'file-secret-value',
        ca: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        timeoutMs: 5000,
      });

      const problems = problemsOf({
        STREAMS: streams,
        SCHEMA_REGISTRY_URL: 'http://registry:8081',
        SCHEMA_REGISTRY_PASSWORD: 'inline-secret-value',
        SCHEMA_REGISTRY_PASSWORD_FILE: join(dir, 'missing'),
        SCHEMA_REGISTRY_CA_FILE: join(dir, 'password'),
      });
      assert.deepEqual(problems, [
        'SCHEMA_REGISTRY_PASSWORD_FILE: set either it or SCHEMA_REGISTRY_PASSWORD, not both',
        'SCHEMA_REGISTRY_PASSWORD_FILE: cannot read it (ENOENT)',
        'SCHEMA_REGISTRY_USERNAME: basic auth needs both a username and a password (or _FILE)',
        'SCHEMA_REGISTRY_CA_FILE: expected PEM certificates (-----BEGIN CERTIFICATE-----)',
        'SCHEMA_REGISTRY_CA_FILE: only used with an https SCHEMA_REGISTRY_URL',
      ]);
      assert.ok(!problems.join('\n').includes('secret-value'), 'secrets are not echoed');
      const bad = problemsOf({ SCHEMA_REGISTRY_URL: 'ftp://x', SCHEMA_REGISTRY_PASSWORD: 'short-secret' });
      assert.ok(bad.some((p) => p.startsWith('SCHEMA_REGISTRY_URL: expected an http(s) URL')));
      assert.ok(!bad.join('\n').includes('short-secret'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('docs/configuration.md documents every variable of the schema with its flag', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const rows = new Map<string, string>();
    for (const m of doc.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|\s*`(--[a-z0-9-]+)`\s*\|/gm))
      rows.set(m[1]!, m[2]!);
    const vars = Object.keys(envSchema.shape);
    assert.deepEqual(
      vars.filter((v) => !rows.has(v)),
      [],
      'variables missing from docs/configuration.md',
    );
    assert.deepEqual(
      [...rows.keys()].filter((v) => !vars.includes(v)),
      [],
      'documented variables the schema does not have',
    );
    for (const v of vars)
      assert.equal(rows.get(v), `--${v.toLowerCase().replace(/_/g, '-')}`, `flag of ${v}`);
  });
});
