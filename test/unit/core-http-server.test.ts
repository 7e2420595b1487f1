/** The one HTTP server assembly (gateway/http/server.ts): production timeouts and header limit. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import { createHttpServer, SERVER_TIMEOUTS } from '../../gateway/http/server.ts';

test('timeouts: none on idle streams, bounded request receipt, keep-alive past NGINX', () => {
  const server = createHttpServer((_req, res) => res.end());
  assert.equal(server.timeout, 0);
  assert.equal(server.requestTimeout, 30_000);
  assert.equal(server.headersTimeout, 20_000);
  assert.equal(server.keepAliveTimeout, 65_000);
  assert.deepEqual(SERVER_TIMEOUTS, {
    socketMs: 0,
    requestMs: 30_000,
    headersMs: 20_000,
    keepAliveMs: 65_000,
  });
});

test('headers past maxHeaderBytes get the catalogue JSON 431, not an empty response', async (t) => {
  const server = createHttpServer((_req, res) => res.end('ok'), { maxHeaderBytes: 1024 });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  const { port } = server.address() as { port: number };
  const socket = connect(port, '127.0.0.1');
  socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(2048)}\r\n\r\n`);
  let reply = '';
  socket.on('data', (d: Buffer) => {
    reply += d.toString();
  });
  await once(socket, 'close');
  assert.match(reply, /^HTTP\/1\.1 431 /);
  assert.match(reply, /"code":"HEADERS_TOO_LARGE"/);
  assert.match(reply, /content-type: application\/json/i);
});
