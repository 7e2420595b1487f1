/**
 * Authentication is one step of the request pipeline (gateway/security/authentication.ts), driven
 * by the route table: an admin path is guarded whether or not its router asks for it, a stream
 * token is verified before any handler runs (and before the Accept or draining checks), and the
 * handler is handed the verified grant. With no STREAM_TOKEN_SECRET the step hands every stream
 * request the one constant PUBLIC grant and reads nothing.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type IncomingMessage, request } from 'node:http';
import { describe, test } from 'node:test';
import express from 'express';
import { gatewayRouter } from '../../gateway/http/exact-router.ts';
import { Exchange } from '../../gateway/http/pipeline.ts';
import { RequestViews } from '../../gateway/http/request-view.ts';
import { NO_GRANT, PUBLIC_GRANT, streamGrantOf } from '../../gateway/http/stream-grant.ts';
import { authentication } from '../../gateway/security/authentication.ts';
import { mintStreamToken } from '../../gateway/security/stream-token.ts';
import { ADMIN, ADMIN_READ, send, startSecureGateway, TOKEN_SECRET } from './security-fixture.ts';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const adminEnv = { ADMIN_TOKEN: ADMIN, ADMIN_READ_TOKEN: ADMIN_READ, RATE_LIMIT_PER_SECOND: '0' };

/** A router nobody guarded: no requireAdmin, no check of its own, one case-insensitive. */
function unguardedRouters() {
  const exact = gatewayRouter();
  exact.get('/v1/admin/unguarded', (_req, res) => res.json({ secret: 'admin state' }));
  exact.post('/v1/admin/unguarded', (_req, res) => res.json({ changed: true }));
  // express's default router folds case: /V1/ADMIN/folded reaches it too.
  const folding = express.Router();
  folding.get('/v1/admin/folded', (_req, res) => res.json({ secret: 'admin state' }));
  return [exact, folding];
}

/** One request with the request target exactly as given (absolute form included). */
async function rawTarget(port: number, target: string, headers: Record<string, string> = {}) {
  const req = request({ host: '127.0.0.1', port, path: target, headers, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.resume();
  await once(res, 'end');
  return res.statusCode;
}

describe('admin routes are guarded by the pipeline, by path', () => {
  test('an admin path registered without any guard is 401 without a token, 403 for the read token on a write', async (t) => {
    const g = await startSecureGateway(t, { env: adminEnv, routers: unguardedRouters() });
    const url = `${g.url}/v1/admin/unguarded`;
    const none = await send(url);
    assert.equal(none.status, 401);
    assert.equal(none.json.error.code, 'UNAUTHORIZED');
    assert.doesNotMatch(none.text, /admin state/);
    assert.equal((await send(url, { headers: bearer('wrong-token-0123456789') })).status, 401);
    assert.equal((await send(url, { headers: bearer(ADMIN_READ) })).status, 200);
    assert.equal((await send(url, { headers: bearer(ADMIN) })).status, 200);
    const write = (headers: Record<string, string>) => send(url, { method: 'POST', headers });
    assert.equal((await write({})).status, 401);
    const readOnWrite = await write(bearer(ADMIN_READ));
    assert.equal(readOnWrite.status, 403);
    assert.equal(readOnWrite.json.error.code, 'FORBIDDEN');
    assert.equal((await write(bearer(ADMIN))).status, 200);
    // A path under /v1/admin that nothing serves is 401 before it is 404: nothing is revealed.
    assert.equal((await send(`${g.url}/v1/admin/nothing-here`)).status, 401);
    assert.equal((await send(`${g.url}/v1/admin/nothing-here`, { headers: bearer(ADMIN) })).status, 404);
  });

  test('no spelling a router accepts reaches an admin route unguarded: case, absolute form', async (t) => {
    const g = await startSecureGateway(t, { env: adminEnv, routers: unguardedRouters() });
    assert.equal(await rawTarget(g.port, '/V1/ADMIN/folded'), 401);
    assert.equal(await rawTarget(g.port, '/V1/ADMIN/folded', bearer(ADMIN)), 200);
    assert.equal(await rawTarget(g.port, `http://127.0.0.1:${g.port}/v1/admin/unguarded`), 401);
    assert.equal(
      await rawTarget(g.port, `http://127.0.0.1:${g.port}/v1/admin/unguarded`, bearer(ADMIN)),
      200,
    );
    assert.equal(await rawTarget(g.port, '/v1/admin/unguarded#x'), 401);
  });

  test('with no ADMIN_TOKEN every admin path is closed; the admin API reference stays public', async (t) => {
    const g = await startSecureGateway(t, {
      env: { RATE_LIMIT_PER_SECOND: '0' },
      routers: unguardedRouters(),
    });
    const r = await send(`${g.url}/v1/admin/unguarded`, { headers: bearer(ADMIN) });
    assert.equal(r.status, 401);
    assert.match(r.json.error.message, /set ADMIN_TOKEN/);
    assert.equal((await send(`${g.url}/v1/admin/openapi.json`)).status, 200);
  });
});

describe('stream tokens are verified by the pipeline', () => {
  const env = { STREAM_TOKEN_SECRET: TOKEN_SECRET, RATE_LIMIT_PER_SECOND: '0' };

  test('401 comes before 406 (wrong Accept) and 503 (draining): nothing is answered to an unauthenticated caller', async (t) => {
    const g = await startSecureGateway(t, { env });
    const wrongAccept = await send(`${g.url}/v1/stream`, { headers: { accept: 'application/json' } });
    assert.equal(wrongAccept.status, 401);
    g.ctx.state.draining = true;
    const draining = await send(`${g.url}/v1/stream`);
    assert.equal(draining.status, 401);
    assert.equal(draining.json.error.code, 'UNAUTHORIZED');
    // With a valid token the handler's own checks answer as before.
    const token = mintStreamToken(TOKEN_SECRET, { exp: Math.floor(Date.now() / 1000) + 600, streams: '*' });
    const valid = await send(`${g.url}/v1/stream?access_token=${token}`, {
      headers: { accept: 'application/json' },
    });
    assert.equal(valid.status, 406);
    g.ctx.state.draining = false;
  });

  test('POST /v1/stream is still 405 (only the served methods are authenticated)', async (t) => {
    const g = await startSecureGateway(t, { env });
    assert.equal((await send(`${g.url}/v1/stream`, { method: 'POST' })).status, 405);
  });
});

describe('the authentication step itself', () => {
  const views = new RequestViews(null);
  const exchange = (url: string, method = 'GET') => {
    const req = {
      url,
      method,
      headers: {},
      socket: { remoteAddress: '127.0.0.1' },
    } as unknown as IncomingMessage;
    return new Exchange(req, {} as never, views);
  };

  test('with no secret every stream request gets the one PUBLIC grant, and the authenticator is never called', () => {
    let calls = 0;
    const step = authentication({
      admin: { token: null, readToken: null },
      authenticateStream: () => {
        calls++;
        return PUBLIC_GRANT;
      },
      publicStreams: true,
    });
    const seen: Exchange[] = [];
    const run = step((ex) => seen.push(ex));
    const front = exchange('/v1/stream?streams=orders');
    run(front);
    assert.equal(front.grant, PUBLIC_GRANT);
    const expressRoute = exchange('/compare/config.json');
    run(expressRoute);
    assert.equal(streamGrantOf(expressRoute.req), PUBLIC_GRANT, 'an express route reads it by its request');
    assert.equal(calls, 0);
    assert.equal(seen.length, 2);
  });

  test('a route that declares no stream auth hands its handler NO_GRANT, which refuses everything', () => {
    const ex = exchange('/v1/stats/latency');
    assert.equal(ex.auth, undefined);
    assert.equal(ex.grant, NO_GRANT);
    assert.throws(() => ex.grant.assertAllows([]), /declare auth "stream"/);
    assert.equal(streamGrantOf(ex.req), NO_GRANT);
  });

  test('the route table: admin below /v1/admin (any method), stream on its exact paths', () => {
    assert.equal(exchange('/v1/admin').auth, 'admin');
    assert.equal(exchange('/v1/admin/rollout', 'PUT').auth, 'admin');
    assert.equal(exchange('/v1/admin/openapi.json').auth, undefined);
    assert.equal(exchange('/v1/administrator').auth, undefined);
    assert.equal(exchange('/admin/x').auth, undefined, '/admin is a metrics label, nothing is served there');
    assert.equal(exchange('/v1/stream?x=1').auth, 'stream');
    assert.equal(exchange('/v1/snapshot').auth, 'stream');
    assert.equal(exchange('/compare/config.json').auth, 'stream');
    assert.equal(exchange('/compare').auth, undefined);
  });
});
