/**
 * A small HTTP proxy in front of a gateway for client-kit tests, standing for what sits between
 * browsers and Switchyard in real deployments. Per request, `policy(path)` says what it does:
 * - `pass`: forward as is (bytes flow as they come);
 * - `buffer`: a buffering proxy (proxy_buffering on, an antivirus, a corporate gateway): the
 *   response, headers included, is held until the upstream response ends, which for an event
 *   stream is never;
 * - `{ status, retryAfter }`: answer that error itself (an overloaded edge).
 * Every request is logged with its path and arrival time, so tests can check what clients did.
 */
import { request } from 'node:http';
import { listen, type Teardown, type TestServer } from './sse-client.ts';

export type ProxyPolicy = 'pass' | 'buffer' | { status: number; retryAfter?: number };

export interface ClientProxy extends TestServer {
  /** Requests seen: path (with query) and arrival time (epoch ms). */
  readonly log: Array<{ path: string; at: number }>;
  /** Changes the policy for the next requests. */
  setPolicy(policy: (path: string) => ProxyPolicy): void;
}

export async function startProxy(
  upstream: string,
  policy: (path: string) => ProxyPolicy,
  t: Teardown,
): Promise<ClientProxy> {
  const target = new URL(upstream);
  const log: Array<{ path: string; at: number }> = [];
  let current = policy;
  const server = await listen((req, res) => {
    const path = req.url ?? '/';
    log.push({ path, at: Date.now() });
    const p = current(path);
    if (typeof p === 'object') {
      res.writeHead(p.status, {
        'content-type': 'application/json',
        ...(p.retryAfter === undefined ? {} : { 'retry-after': String(p.retryAfter) }),
      });
      res.end(JSON.stringify({ error: { code: 'OVERLOADED', message: 'proxy says no' } }));
      return;
    }
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path, headers: req.headers },
      (upRes) => {
        if (p === 'pass') {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          return;
        }
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.on('end', () => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    up.on('error', () => res.destroy());
    res.on('close', () => up.destroy());
    req.pipe(up);
  }, t);
  return Object.assign(server, {
    log,
    setPolicy(next: (path: string) => ProxyPolicy) {
      current = next;
    },
  });
}
