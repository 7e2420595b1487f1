/**
 * Micro-benchmark behind the hub's write path: server CPU (user + system, this process only) per
 * write of one ~400-byte SSE batch to N open responses, for three ways of writing it:
 *   res-string   res.write(text)              (per-client UTF-8 encoding, 4 socket writes + cork tick)
 *   res-buffer   res.write(buffer)            (encoded once, still framed per client)
 *   socket-chunk socket.write(framed buffer)  (encoded and chunk-framed once; what SseHub does)
 * Clients are raw sockets in a child process that read and discard. Strategies are interleaved
 * round by round so machine noise hits them alike.
 *
 *   node --import tsx bench/micro/write-strategies.ts [--clients 500] [--rounds 200]
 */
import { fork } from 'node:child_process';
import { createServer, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { SharedChunk } from '../../gateway/sse/shared-chunk.ts';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '200' },
    child: { type: 'string' },
  },
});

if (values.child) {
  // Client process: open N streams, read and discard.
  const [port, n] = values.child.split(':').map(Number) as [number, number];
  let open = 0;
  for (let i = 0; i < n; i++) {
    const s = connect(port, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.once('data', () => {
      if (++open === n) process.send?.('ready');
    });
    s.on('data', () => {});
  }
} else {
  const n = Number(values.clients);
  const rounds = Number(values.rounds);
  const clients: ServerResponse[] = [];
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream' });
    res.flushHeaders();
    res.write(':\n\n');
    clients.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const child = fork(new URL(import.meta.url).pathname, ['--child', `${port}:${n}`], {
    execArgv: ['--import', 'tsx'],
  });
  await new Promise((r) => child.once('message', r));
  const data = `{"stream":"orders","op":"append","key":"o1","value":{"id":"o1","city":"Berlin","country":"DE","lat":52.536,"lon":13.689,"amount":4.63,"currency":"EUR","amountUsd":5,"shopId":"shop-123456","product":"Organic cotton tee","quantity":2,"channel":"online_store","createdAt":1700000000000},"createdAt":1700000000000,"appliedAt":1700000000003}`;
  const strategies = {
    'res-string': (text: string) => {
      for (const c of clients) c.write(text);
    },
    'res-buffer': (text: string) => {
      const b = Buffer.from(text);
      for (const c of clients) c.write(b);
    },
    'socket-chunk': (text: string) => {
      const b = new SharedChunk(text).chunked;
      for (const c of clients) c.socket!.write(b);
    },
  };
  const cpu: Record<string, number> = {};
  for (const k of Object.keys(strategies)) cpu[k] = 0;
  const tick = () => new Promise((r) => setTimeout(r, 4));
  for (let r = 0; r < rounds; r++) {
    for (const [name, write] of Object.entries(strategies)) {
      const text = `id: abc:${r}\nevent: update\ndata: ${data}\n\n`;
      const t0 = process.cpuUsage();
      write(text);
      // Let the cork ticks and write completions run: they are part of the cost.
      await new Promise((res) => setImmediate(res));
      const d = process.cpuUsage(t0);
      cpu[name]! += d.user + d.system;
      await tick();
    }
  }
  for (const [name, us] of Object.entries(cpu))
    process.stdout.write(`${name.padEnd(13)} ${(us / (rounds * n)).toFixed(2)} us per client write\n`);
  child.kill();
  server.closeAllConnections();
  server.close();
}
