/**
 * Property-based fuzzing of every client-controlled input of the public endpoints, against the
 * real app over real sockets: query strings built from arbitrary bytes (invalid UTF-8, stray `%`,
 * repeated and empty parameters), Last-Event-ID headers, cookies and access tokens, telemetry
 * bodies. Every answer must be a success or a 4xx with the catalogue's JSON body: never a 5xx,
 * never a crash, never an unhandled error in the logs. Also the event-id parser on its own.
 */
import assert from 'node:assert/strict';
import { Agent, type IncomingMessage, request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import {
  formatEventId,
  lineageHash,
  MAX_EVENT_ID_LENGTH,
  parseEventId,
  streamSetHash,
} from '../../gateway/cache/event-id.ts';
import { ERROR_CATALOGUE } from '../../gateway/errors.ts';
import { mintStreamToken } from '../../gateway/security/stream-token.ts';
import { ADMIN, type SecureGateway, startSecureGateway, TOKEN_SECRET } from '../unit/security-fixture.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const LEGACY_PATH = '/api/live-map.json';
const NOW = 1_700_000_000_000;

/** Tear-down hooks of the suite (the fixture registers its own). */
const hooks: Array<() => unknown> = [];
const suite = { after: (fn: () => unknown) => hooks.push(fn) };
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

interface Answer {
  status: number;
  type: string;
  body: string;
}

/** Raw request: `path` goes on the wire as is (already percent-encoded by the generators). */
function hit(g: SecureGateway, method: string, path: string, headers: Record<string, string>, body?: string) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: g.port, method, path, headers, agent },
      (res: IncomingMessage) => {
        const type = String(res.headers['content-type'] ?? '');
        if (res.statusCode === 200 && type.startsWith('text/event-stream')) {
          res.destroy();
          resolve({ status: 200, type, body: '' });
          return;
        }
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`timeout on ${path.slice(0, 200)}`)));
    req.end(body);
  });
}

/** The contract every answer keeps: 2xx/304, or a 4xx catalogue error in JSON (no body on HEAD). */
function assertAnswer(a: Answer, what: string, head = false): void {
  assert.ok(a.status < 500, `${what} -> ${a.status} ${a.body.slice(0, 300)}`);
  if (a.status >= 400) {
    assert.match(a.type, /^application\/json/, what);
    if (head) return;
    const code = (JSON.parse(a.body) as { error: { code: string } }).error.code;
    assert.ok(code in ERROR_CATALOGUE, `${what}: unknown code ${code}`);
    assert.equal(ERROR_CATALOGUE[code as keyof typeof ERROR_CATALOGUE].status, a.status, what);
    assert.doesNotMatch(a.body, /node_modules|\/work\/|\.ts:\d+|\n\s+at /, `${what}: leaks internals`);
  }
}

const pct = (b: number) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
/** An arbitrary query value: raw bytes percent-encoded (invalid UTF-8 included) or broken escapes. */
const rawValue = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((bytes) => [...bytes].map(pct).join('')),
  fc.stringMatching(/^[A-Za-z0-9._~,:-]{0,40}$/),
  fc.constantFrom(
    '%',
    '%G1',
    '%%',
    '%E0%A4',
    '%C0%AF',
    '%00',
    '+',
    '%2C%2C',
    ',',
    ',,',
    'orders,',
    ',orders',
    '%FF%FE',
  ),
  fc.constantFrom(
    'orders',
    'totals',
    'orders,totals',
    'totals,orders,orders',
    'ORDERS',
    '%20orders',
    'orders%20',
  ),
);
/** A query string: known and unknown parameters, repeated, empty, value-less, with `[]` names. */
function queryOf(names: readonly string[]): fc.Arbitrary<string> {
  const param = fc.oneof(
    fc.tuple(fc.constantFrom(...names), rawValue).map(([n, v]) => `${n}=${v}`),
    fc
      .tuple(
        fc.constantFrom(...names.map((n) => `${n}[]`), ...names.map((n) => `${n}[a]`), 'x', '%FF'),
        rawValue,
      )
      .map(([n, v]) => `${n}=${v}`),
    fc.constantFrom(...names),
    fc.constantFrom('&', '=', '==', '&&', '=&='),
  );
  return fc.array(param, { maxLength: 6 }).map((ps) => (ps.length === 0 ? '' : `?${ps.join('&')}`));
}
/** Header values Node will put on the wire: tab, printable ASCII and latin-1, no CR/LF/NUL. */
const headerValue = fc.oneof(
  fc.string({
    unit: fc.constantFrom(
      '\t',
      ...Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)),
      'é',
      'ÿ',
    ),
    maxLength: 80,
  }),
  fc.stringMatching(
    /^[0-9a-f]{6}(-[0-9a-f]{6})?:\d{1,20}(\.\d{1,20}){0,3}(_\d{1,20}(\.\d{1,20}){0,3}){0,3}$/,
  ),
  fc.constantFrom('', ' ', '1:2', ':', '_', '000000:', 'ffffff:0_0', `a7b3c1:${'1.'.repeat(1200)}1`),
);

describe('HTTP inputs (property-based, real app)', { timeout: 600_000 }, () => {
  let open: SecureGateway;
  let guarded: SecureGateway;
  const valid = mintStreamToken(TOKEN_SECRET, { exp: NOW / 1000 + 3600, streams: ['orders'] });
  const tokenArb = fc.oneof(
    fc.constant(valid),
    rawValue,
    fc.constant(mintStreamToken(TOKEN_SECRET, { exp: NOW / 1000 - 1, streams: '*' })),
    fc
      .nat(valid.length - 1)
      .map((i) => valid.slice(0, i) + (valid[i] === 'A' ? 'B' : 'A') + valid.slice(i + 1)),
  );

  before(async () => {
    const env = {
      RATE_LIMIT_PER_SECOND: '0',
      ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: 'warn',
      // A legacy route served from the snapshot (the backend is never needed while fresh).
      LEGACY_ROUTES: `live-map:${LEGACY_PATH}:serve`,
      LEGACY_URL: 'http://127.0.0.1:9',
    };
    open = await startSecureGateway(suite, { env, now: () => NOW });
    guarded = await startSecureGateway(suite, {
      env: { ...env, STREAM_TOKEN_SECRET: TOKEN_SECRET },
      now: () => NOW,
    });
    open.source.produce('topic.totals', [{ key: 'fr', value: '{"n":1}' }]);
    guarded.source.produce('topic.totals', [{ key: 'fr', value: '{"n":1}' }]);
  });

  after(async () => {
    agent.destroy();
    for (const h of hooks.reverse()) await h();
  });

  test('GET /v1/stream: streams, lastEventId, clientId, access_token, Last-Event-ID and cookies', async () => {
    await fc.assert(
      fc.asyncProperty(
        queryOf(['streams', 'lastEventId', 'clientId', 'access_token']),
        fc.option(headerValue, { nil: undefined }),
        fc.option(fc.oneof(tokenArb, headerValue), { nil: undefined }),
        fc.boolean(),
        async (query, lastEventId, cookie, useGuarded) => {
          const headers: Record<string, string> = { accept: 'text/event-stream' };
          if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
          if (cookie !== undefined) headers.cookie = `switchyard_token=${cookie}`;
          const g = useGuarded ? guarded : open;
          const a = await hit(g, 'GET', `/v1/stream${query}`, headers);
          assertAnswer(a, `/v1/stream${query} lei=${lastEventId}`);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('GET /v1/stream with a valid token and any Last-Event-ID: 200 or 400 BAD_LAST_EVENT_ID, nothing else', async () => {
    const sel = open.ctx.selections.resolve('orders');
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          headerValue,
          fc
            .array(fc.nat(), { minLength: 1, maxLength: 3 })
            .map((o) => formatEventId(sel.idPrefix, [o.join('.')])),
        ),
        async (lei) => {
          const a = await hit(guarded, 'GET', `/v1/stream?streams=orders&access_token=${valid}`, {
            'last-event-id': lei,
          });
          assertAnswer(a, `Last-Event-ID ${lei}`);
          assert.ok(
            a.status === 200 || JSON.parse(a.body).error.code === 'BAD_LAST_EVENT_ID',
            `${lei} -> ${a.body}`,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('GET /v1/snapshot, a legacy route, and HEAD: query, access_token, If-None-Match, Accept-Encoding', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/snapshot', LEGACY_PATH),
        queryOf(['streams', 'access_token']),
        fc.option(headerValue, { nil: undefined }),
        fc.option(headerValue, { nil: undefined }),
        fc.constantFrom('GET', 'HEAD'),
        fc.boolean(),
        async (path, query, inm, enc, method, useGuarded) => {
          const headers: Record<string, string> = {};
          if (inm !== undefined) headers['if-none-match'] = inm;
          if (enc !== undefined) headers['accept-encoding'] = enc;
          const a = await hit(useGuarded ? guarded : open, method, path + query, headers);
          assertAnswer(a, `${method} ${path}${query}`, method === 'HEAD');
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('GET /v1/transport?clientId= and the admin query parsers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          '/v1/transport',
          '/v1/admin/shadow',
          '/v1/admin/routes',
          '/v1/admin/rollout',
          '/v1/stats/latency',
        ),
        queryOf(['clientId', 'route', 'limit']),
        fc.oneof(fc.constant(`Bearer ${ADMIN}`), headerValue),
        async (path, query, authorization) => {
          const a = await hit(open, 'GET', path + query, { authorization });
          assertAnswer(a, path + query);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('POST /v1/telemetry and admin writes: arbitrary bodies and content types', async () => {
    const body = fc.oneof(
      fc.json({ maxDepth: 5 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.constantFrom(
        '{"transport":"sse","latencyMs":[1,2,3]}',
        '{"__proto__":{"x":1}}',
        '[',
        '{"a":1}}',
        'null',
        '',
      ),
      fc
        .record({
          transport: fc.constantFrom('sse', 'poll', 'x'),
          latencyMs: fc.array(fc.double(), { maxLength: 300 }),
        })
        .map((o) => JSON.stringify(o)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          ['POST', '/v1/telemetry'],
          ['PUT', '/v1/admin/rollout'],
          ['PUT', '/v1/admin/routes/none'],
          ['POST', '/v1/snapshot'],
        ),
        body,
        fc.constantFrom(
          'application/json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'application/json; charset=latin1',
          '',
        ),
        async ([method, path], b, type) => {
          const headers: Record<string, string> = { authorization: `Bearer ${ADMIN}` };
          if (type !== '') headers['content-type'] = type;
          const a = await hit(open, method, path, headers, b);
          assertAnswer(a, `${method} ${path} ${JSON.stringify(b).slice(0, 100)}`);
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('nothing above was an unhandled error, and the gateways still answer', async () => {
    for (const g of [open, guarded]) {
      assert.doesNotMatch(g.logs.join(''), /unhandled error/);
      const a = await hit(g, 'GET', '/healthz', {});
      assert.equal(a.status, 200);
    }
  });
});

describe('event id parser (property-based)', () => {
  const hash = streamSetHash(['orders', 'totals']);
  const LINEAGE = lineageHash(['', '']);

  test('any string: never throws; malformed unless it has the exact shape', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), headerValue),
        fc.integer({ min: 1, max: 4 }),
        (raw, n) => {
          const p = parseEventId(raw, hash, LINEAGE, n);
          if (p.kind === 'ok') {
            assert.equal(p.cursors.length, n);
            for (const c of p.cursors) for (const o of c) assert.ok(Number.isSafeInteger(o) && o >= 0);
          }
          if (raw.length > MAX_EVENT_ID_LENGTH || !/^[0-9a-f]{6}(-[0-9a-f]{6})?:/.test(raw))
            assert.equal(p.kind, 'malformed');
        },
      ),
      { numRuns: RUNS * 4 },
    );
  });

  test('formatEventId -> parseEventId round-trips any cursors; another set is a resync, not an error', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { minLength: 1, maxLength: 8 }), {
          minLength: 1,
          maxLength: 4,
        }),
        (cursors) => {
          const id = formatEventId(
            `${hash}-${LINEAGE}`,
            cursors.map((c) => c.join('.')),
          );
          if (id.length > MAX_EVENT_ID_LENGTH) return;
          assert.deepEqual(parseEventId(id, hash, LINEAGE, cursors.length), { kind: 'ok', cursors });
          assert.equal(
            parseEventId(id, hash === '000000' ? '000001' : '000000', LINEAGE, cursors.length).kind,
            'other-set',
          );
          assert.equal(parseEventId(id, hash, LINEAGE, cursors.length + 1).kind, 'other-set');
          assert.equal(parseEventId(id, hash, 'abcdef', cursors.length).kind, 'other-lineage');
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });
});
