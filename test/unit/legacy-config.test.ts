/** LEGACY_* configuration: routes, modes and contracts validated at start, each problem named. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONTRACTS } from '../../compat/contracts/index.ts';
import { ConfigError } from '../../gateway/config/load.ts';
import { loadConfig } from '../../gateway/switchyard.ts';
import { routeContractProblems } from '../../legacy-adapter/contract-loader.ts';

const STREAMS = 'orders:feed:t.orders,totals:table:t.totals';
const URL = 'http://legacy.internal:8081';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be refused`);
}

describe('legacy config', () => {
  test('short form, defaults of every LEGACY_* variable', () => {
    const c = loadConfig({ STREAMS, LEGACY_URL: URL, LEGACY_ROUTES: 'live-map:/api/live-map.json:proxy' });
    assert.deepEqual(c.legacy, {
      url: URL,
      timeoutMs: 5000,
      shadowSampleRate: 0.1,
      shadowMaxPerSecond: 20,
      staleLimitMs: 30_000,
      maxBodyBytes: 4 * 1024 * 1024,
      routes: [
        {
          name: 'live-map',
          path: '/api/live-map.json',
          mode: 'proxy',
          contract: null,
          sampleRate: null,
        },
      ],
      contracts: null,
      demoBackend: null,
      demoNote: null,
    });
  });

  test('JSON form with a contract and a per-route sample rate; CLI flags too', () => {
    const c = loadConfig({ STREAMS, LEGACY_URL: URL }, [
      '--legacy-routes',
      '[{"name":"map","path":"/old/map.json","mode":"shadow","contract":"live-map","sampleRate":0.5}]',
      '--legacy-timeout-ms',
      '800',
      '--legacy-shadow-sample',
      '1',
    ]);
    assert.deepEqual(c.legacy.routes, [
      { name: 'map', path: '/old/map.json', mode: 'shadow', contract: 'live-map', sampleRate: 0.5 },
    ]);
    assert.equal(c.legacy.timeoutMs, 800);
    assert.equal(c.legacy.shadowSampleRate, 1);
  });

  test('an unknown mode or contract is refused, naming it', () => {
    const problems = problemsOf({
      STREAMS,
      LEGACY_URL: URL,
      LEGACY_ROUTES: 'live-map:/a.json:mirror',
    });
    assert.ok(
      problems.some(
        (p) =>
          p.includes('LEGACY_ROUTES') &&
          p.includes('unknown mode "mirror"') &&
          p.includes('proxy, shadow or serve'),
      ),
      problems.join('\n'),
    );
    const c = loadConfig({ STREAMS, LEGACY_URL: URL, LEGACY_ROUTES: 'x:/b.json:serve:nope,y:/c.json:proxy' });
    const contracts = routeContractProblems(c.legacy, c.streams, CONTRACTS);
    assert.deepEqual(contracts, [
      'LEGACY_ROUTES: route "x" (serve) needs contract "nope", which is not loaded (known: live-map)',
    ]);
  });

  test('a proxy route needs no contract; one that names a contract needs it loaded', () => {
    const c = loadConfig({ STREAMS, LEGACY_URL: URL, LEGACY_ROUTES: 'board:/api/v2/board.json:proxy' });
    assert.deepEqual(routeContractProblems(c.legacy, c.streams, {}), []);
    const named = loadConfig({ STREAMS, LEGACY_URL: URL, LEGACY_ROUTES: 'board:/b.json:proxy:board-v1' });
    assert.match(
      routeContractProblems(named.legacy, named.streams, {}).join('\n'),
      /"board-v1", which is not loaded/,
    );
  });

  test('a contract whose streams are not configured is refused at start', () => {
    const c = loadConfig({
      STREAMS: 'orders:table:t.orders',
      LEGACY_URL: URL,
      LEGACY_ROUTES: 'live-map:/api/live-map.json:serve',
    });
    const problems = routeContractProblems(c.legacy, c.streams, CONTRACTS);
    assert.ok(
      problems.some((p) => p.includes('reads stream "orders" as a feed, but it is a table')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.includes('reads stream "totals", which STREAMS does not configure')),
      problems.join('\n'),
    );
  });

  test('routes need LEGACY_URL; bad URL, paths, names, duplicates and ranges are refused', () => {
    assert.ok(
      problemsOf({ STREAMS, LEGACY_ROUTES: 'live-map:/a.json:proxy' }).some((p) =>
        p.startsWith('LEGACY_URL:'),
      ),
    );
    assert.ok(
      problemsOf({ STREAMS, LEGACY_URL: 'ftp://x', LEGACY_ROUTES: 'none' }).some((p) =>
        p.startsWith('LEGACY_URL:'),
      ),
    );
    const p = (routes: string) => problemsOf({ STREAMS, LEGACY_URL: URL, LEGACY_ROUTES: routes }).join('\n');
    assert.match(p('live-map:/v1/snapshot:proxy'), /must not be under \/v1\//);
    assert.match(p('live-map:/api/x:y:proxy:live-map'), /not name:path:mode/);
    // Said once, by the short-form reader, not again by the schema ("expected array").
    assert.deepEqual(
      problemsOf({ STREAMS, LEGACY_URL: URL, LEGACY_ROUTES: 'a:b:c:d:e' }).filter((x) =>
        x.startsWith('LEGACY_ROUTES'),
      ),
      [
        'LEGACY_ROUTES: "a:b:c:d:e" is not name:path:mode[:contract]; use name:path:mode[:contract],... or a JSON array',
      ],
    );
    assert.match(p('live-map:/a/{x}:proxy'), /literal path/);
    assert.match(p('Live Map:/a.json:proxy'), /route name must match/);
    assert.match(p('live-map:/a.json:proxy,live-map:/b.json:proxy'), /"live-map" is used twice/);
    assert.match(p('a:/a.json:proxy:live-map,b:/a.json:proxy:live-map'), /"\/a\.json" is used twice/);
    assert.ok(problemsOf({ LEGACY_SHADOW_SAMPLE: '1.5' }).some((x) => x.startsWith('LEGACY_SHADOW_SAMPLE')));
    assert.ok(problemsOf({ LEGACY_TIMEOUT_MS: '5' }).some((x) => x.startsWith('LEGACY_TIMEOUT_MS')));
  });

  test('the pure demo gets the reference route and the in-process backend; other setups get nothing', () => {
    const demo = loadConfig({});
    assert.deepEqual(
      demo.legacy.routes.map((r) => [r.name, r.path, r.mode]),
      [['live-map', '/api/live-map.json', 'proxy']],
    );
    assert.deepEqual(demo.legacy.demoBackend, { port: 8081, refreshMs: 10_000 });
    assert.equal(demo.legacy.url, 'http://127.0.0.1:8081');
    // With your own backend, no demo backend starts.
    const own = loadConfig({ LEGACY_URL: URL });
    assert.equal(own.legacy.demoBackend, null);
    assert.equal(own.legacy.url, URL);
    assert.equal(own.legacy.routes.length, 1);
    // Other streams on the demo: the route stays if they still have what it reads, else a note says why not.
    const kept = loadConfig({ STREAMS: 'orders:feed:t.o,totals:table:t.t,extra:table:t.x' });
    assert.deepEqual(
      kept.legacy.routes.map((r) => r.name),
      ['live-map'],
    );
    assert.equal(kept.legacy.demoNote, null);
    const dropped = loadConfig({ STREAMS: 'a:table:t.a' });
    assert.deepEqual(dropped.legacy.routes, []);
    assert.match(dropped.legacy.demoNote ?? '', /legacy route \/api\/live-map\.json is off: .*"orders"/);
    // Kafka: no routes unless configured (a contract may not fit those streams).
    assert.deepEqual(loadConfig({ KAFKA_BROKERS: '127.0.0.1:9092' }).legacy.routes, []);
    assert.deepEqual(loadConfig({ LEGACY_ROUTES: 'none' }).legacy.routes, []);
    assert.ok(problemsOf({ PORT: '8081' }).some((x) => x.startsWith('LEGACY_DEMO_PORT')));
  });
});
