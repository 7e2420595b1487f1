/**
 * The floor for Node: the smallest SSE fan-out server one would write by hand with node:http.
 * `GET /sub` opens a stream (kept in a Set); `POST /pub` takes one message as its body, frames
 * it once (`data: ...\n\n`) into one Buffer and writes that Buffer to every open response with
 * `res.write`. One heartbeat timer. No batching, no ids, no slow-client policy.
 *
 * For the polling scenario it also serves one JSON file as `GET /static` the way a hand-written
 * Node endpoint would: from a Buffer read once (and its gzip), with an ETag and 304s.
 *
 * Run: `PORT=8090 [STATIC_FILE=body.json] node --import tsx bench/baselines/plain-node.ts`
 * (prints `listening <port>`; `STATIC_FILE.gz` is the gzip served on Accept-Encoding: gzip).
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS ?? 15_000);
const clients = new Set<ServerResponse>();
const heartbeat = Buffer.from(':\n\n');
const file = process.env.STATIC_FILE;
const body = file ? readFileSync(file) : null;
const gzipped = file ? readFileSync(`${file}.gz`) : null;
const ETAG = '"static-1"';

function serveStatic(req: IncomingMessage, res: ServerResponse): void {
  if (!body || !gzipped) {
    res.writeHead(404).end();
    return;
  }
  if (req.headers['if-none-match'] === ETAG) {
    res.writeHead(304, { ETag: ETAG }).end();
    return;
  }
  const gz = /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  const payload = gz ? gzipped : body;
  res.writeHead(200, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': payload.length,
    ETag: ETAG,
    Vary: 'Accept-Encoding',
    ...(gz ? { 'Content-Encoding': 'gzip' } : {}),
  });
  res.end(payload);
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/sub') {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
    });
    res.flushHeaders();
    clients.add(res);
    res.on('close', () => clients.delete(res));
    return;
  }
  if (req.method === 'POST' && req.url === '/pub') {
    const parts: Buffer[] = [];
    req.on('data', (b: Buffer) => parts.push(b));
    req.on('end', () => {
      const chunk = Buffer.from(`data: ${Buffer.concat(parts).toString('utf8')}\n\n`);
      for (const c of clients) c.write(chunk);
      res.writeHead(202).end();
    });
    return;
  }
  if (req.method === 'GET' && req.url === '/static') {
    serveStatic(req, res);
    return;
  }
  if (req.url === '/healthz') {
    res.writeHead(200, { 'Content-Type': 'text/plain' }).end(String(clients.size));
    return;
  }
  res.writeHead(404).end();
});
server.timeout = 0;
server.keepAliveTimeout = 65_000;

setInterval(() => {
  for (const c of clients) c.write(heartbeat);
}, HEARTBEAT_MS).unref();

server.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`listening ${typeof addr === 'object' && addr ? addr.port : ''}\n`);
});
process.on('SIGTERM', () => {
  for (const c of clients) c.destroy();
  server.close(() => process.exit(0));
});
