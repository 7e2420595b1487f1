/**
 * Stream tokens (gateway/security/stream-token.ts): HS256 JWTs naming the streams they open.
 * Pure: every check takes the clock as an argument.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  deniedStreams,
  MAX_TOKEN_LENGTH,
  mintStreamToken,
  verifyStreamToken,
} from '../../gateway/security/stream-token.ts';
import { mintLine } from '../../scripts/mint-token.ts';

const SECRET = 'a-test-secret-of-at-least-32-characters!';
const OTHER = 'another-secret-of-at-least-32-characters';
const NOW = 1_700_000_000_000;
const exp = (secondsFromNow: number) => Math.floor(NOW / 1000) + secondsFromNow;

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** Signs an arbitrary header and payload (for tokens the minting API would never produce). */
function handMade(header: unknown, payload: unknown, secret = SECRET): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

describe('stream tokens', () => {
  test('a minted token verifies and carries its claims', () => {
    const token = mintStreamToken(SECRET, { exp: exp(60), streams: ['orders'], sub: 'user-1' });
    assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]{43}$/);
    const check = verifyStreamToken(token, [SECRET], NOW);
    assert.ok(check.ok);
    assert.deepEqual(check.claims, { exp: exp(60), streams: ['orders'], sub: 'user-1' });
  });

  test('it is a standard HS256 JWT: a token signed by any JWT library with the same claims verifies', () => {
    const token = handMade({ typ: 'JWT', alg: 'HS256' }, { streams: '*', exp: exp(10), iat: exp(0) });
    const check = verifyStreamToken(token, [SECRET], NOW);
    assert.ok(check.ok);
    assert.equal(check.claims.streams, '*');
  });

  test('forged: another secret, a flipped signature byte, or a payload swapped under a valid signature', () => {
    const good = mintStreamToken(SECRET, { exp: exp(60), streams: ['orders'] });
    assert.deepEqual(
      verifyStreamToken(mintStreamToken(OTHER, { exp: exp(60), streams: ['orders'] }), [SECRET], NOW),
      {
        ok: false,
        reason: 'bad_signature',
      },
    );
    const [h, p, s] = good.split('.') as [string, string, string];
    const flipped = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    assert.equal(verifyStreamToken(flipped, [SECRET], NOW).ok, false);
    // The signature's last character has 2 spare bits: an alias decodes to the same bytes.
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const alias = `${h}.${p}.${s.slice(0, -1)}${ALPHABET[ALPHABET.indexOf(s.at(-1)!) ^ 1]}`;
    assert.deepEqual(Buffer.from(alias.split('.')[2]!, 'base64url'), Buffer.from(s, 'base64url'));
    assert.deepEqual(verifyStreamToken(alias, [SECRET], NOW), { ok: false, reason: 'malformed' });
    const wider = b64({ exp: exp(60), streams: '*' });
    assert.deepEqual(verifyStreamToken(`${h}.${wider}.${s}`, [SECRET], NOW), {
      ok: false,
      reason: 'bad_signature',
    });
  });

  test('alg none and other algorithms are refused, even when correctly "signed"', () => {
    const none = `${b64({ alg: 'none' })}.${b64({ exp: exp(60), streams: '*' })}.`;
    assert.deepEqual(verifyStreamToken(none, [SECRET], NOW), { ok: false, reason: 'malformed' });
    const hs512 = handMade({ alg: 'HS512' }, { exp: exp(60), streams: '*' });
    assert.deepEqual(verifyStreamToken(hs512, [SECRET], NOW), { ok: false, reason: 'malformed' });
  });

  test('expired at exp (exclusive), not yet valid before nbf', () => {
    const token = mintStreamToken(SECRET, { exp: exp(60), streams: ['orders'], nbf: exp(10) });
    assert.deepEqual(verifyStreamToken(token, [SECRET], NOW), { ok: false, reason: 'not_yet_valid' });
    assert.equal(verifyStreamToken(token, [SECRET], NOW + 10_000).ok, true);
    assert.equal(verifyStreamToken(token, [SECRET], NOW + 59_999).ok, true);
    assert.deepEqual(verifyStreamToken(token, [SECRET], NOW + 60_000), { ok: false, reason: 'expired' });
  });

  test('rotation: tokens of the previous secret verify while it is listed, not after', () => {
    const old = mintStreamToken(OTHER, { exp: exp(60), streams: '*' });
    assert.equal(verifyStreamToken(old, [SECRET, OTHER], NOW).ok, true);
    assert.equal(verifyStreamToken(old, [SECRET], NOW).ok, false);
  });

  test('bad claims are malformed even when signed: no exp, bad stream names, bad types', () => {
    for (const payload of [
      { streams: '*' },
      { exp: 'soon', streams: '*' },
      { exp: exp(60), streams: 'orders' },
      { exp: exp(60), streams: ['Orders'] },
      { exp: exp(60), streams: ['a,b'] },
      { exp: exp(60), streams: [1] },
      { exp: exp(60), streams: Array.from({ length: 65 }, (_, i) => `s${i}`) },
      { exp: exp(60), streams: '*', sub: 42 },
      { exp: exp(60), streams: '*', nbf: -1 },
      { exp: Number.MAX_VALUE, streams: '*' },
      [1, 2],
      'text',
      null,
    ])
      assert.deepEqual(
        verifyStreamToken(handMade({ alg: 'HS256' }, payload), [SECRET], NOW),
        {
          ok: false,
          reason: 'malformed',
        },
        JSON.stringify(payload),
      );
  });

  test('oversized and misshapen input is refused before hashing', () => {
    assert.deepEqual(verifyStreamToken('x'.repeat(MAX_TOKEN_LENGTH + 1), [SECRET], NOW), {
      ok: false,
      reason: 'malformed',
    });
    for (const t of ['', '.', 'a.b', 'a.b.c.d', 'a.b.c', 'a b.c.d', `a.b.${'A'.repeat(44)}`])
      assert.equal(verifyStreamToken(t, [SECRET], NOW).ok, false, t);
  });

  test('deniedStreams lists what a token does not open', () => {
    assert.deepEqual(deniedStreams({ exp: 1, streams: ['orders'] }, ['orders', 'totals']), ['totals']);
    assert.deepEqual(deniedStreams({ exp: 1, streams: ['orders', 'totals'] }, ['totals']), []);
    assert.deepEqual(deniedStreams({ exp: 1, streams: '*' }, ['orders', 'totals']), []);
  });

  test('property: no string verifies without the secret, and verification never throws', () => {
    const valid = mintStreamToken(SECRET, { exp: exp(60), streams: '*' });
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.stringMatching(/^[\w-]{1,40}\.[\w-]{1,80}\.[\w-]{43}$/),
          // Mutations of a valid token: one character changed anywhere.
          fc
            .tuple(fc.nat(valid.length - 1), fc.constantFrom(...'AQgw_-.=+/ '))
            .map(([i, c]) => valid.slice(0, i) + c + valid.slice(i + 1)),
        ),
        (s) => {
          const check = verifyStreamToken(s, [SECRET], NOW);
          return s === valid || check.ok === false;
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('scripts/mint-token.ts mints verifiable tokens, cookies and URLs; refuses bad input', () => {
    const tok = mintLine(SECRET, { streams: 'orders,totals', ttl: 60, sub: 'ops', format: 'token' }, NOW);
    const check = verifyStreamToken(tok, [SECRET], NOW);
    assert.ok(check.ok);
    assert.deepEqual(check.claims, { exp: exp(60), iat: exp(0), streams: ['orders', 'totals'], sub: 'ops' });
    assert.match(
      mintLine(SECRET, { streams: '*', ttl: 60, format: 'cookie' }, NOW),
      /^switchyard_token=[\w.-]+; Path=\/v1\/; Max-Age=60; HttpOnly; Secure; SameSite=Lax$/,
    );
    const url = new URL(
      mintLine(SECRET, { streams: 'orders', ttl: 60, format: 'url', url: 'https://gw.example.com' }, NOW),
    );
    assert.equal(url.pathname, '/v1/stream');
    assert.equal(url.searchParams.get('streams'), 'orders');
    assert.ok(verifyStreamToken(url.searchParams.get('access_token')!, [SECRET], NOW).ok);
    for (const [secret, args] of [
      [undefined, { streams: '*', ttl: 60 }],
      ['short', { streams: '*', ttl: 60 }],
      [SECRET, { streams: 'Orders', ttl: 60 }],
      [SECRET, { streams: 'orders,', ttl: 60 }],
      [SECRET, { streams: '*', ttl: 0 }],
      [SECRET, { streams: '*', ttl: 1e9 }],
    ] as const)
      assert.throws(() => mintLine(secret, { ...args, format: 'token' }, NOW), JSON.stringify(args));
  });

  test('the CLI reads the secret from the environment only', () => {
    const run = (args: string[], env: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/mint-token.ts', ...args], {
        env: { PATH: process.env.PATH ?? '', ...env },
        encoding: 'utf8',
      });
    const ok = run(['--streams', 'orders', '--ttl', '120'], { STREAM_TOKEN_SECRET: SECRET });
    assert.equal(ok.status, 0, ok.stderr);
    assert.ok(verifyStreamToken(ok.stdout.trim(), [SECRET], Date.now()).ok);
    const refused = run(['--streams', 'orders', '--secret', SECRET], {});
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--secret is refused/);
    assert.equal(refused.stdout, '');
  });
});
