/**
 * The embedded demo (no Kafka) run as a real process with WORKERS=2, for the tests of the fleet
 * state on node:cluster: each fresh connection goes to the next worker, so {@link getFromAWorker}
 * says which worker answered.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { GatewayProcess } from './gateway-process.ts';
import type { Teardown } from './sse-client.ts';

/** The demo's admin (write) token; also sent on every {@link getFromAWorker} request. */
export const DEMO_ADMIN_TOKEN = 'demo-write-token-0123456789';

/** One answer and the worker (`x-switchyard-worker`, e.g. `demo/1`) that gave it. */
export interface WorkerReply {
  status: number;
  worker: string;
  body: string;
}

/** GET with the admin token on a fresh connection (node:cluster hands each new connection to the next worker). */
export function getFromAWorker(url: string): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { agent: false, headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}` } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, worker: String(res.headers['x-switchyard-worker']), body }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Starts the embedded demo with two workers (instance `demo`, so workers `demo/1` and `demo/2`),
 * stopped on `t.after`. KAFKA_BROKERS is blanked: no Kafka even when the suite's broker is in the
 * environment ('' = unset).
 */
export async function startTwoWorkerDemo(t: Teardown, name: string): Promise<GatewayProcess> {
  const gw = await GatewayProcess.start({
    name,
    env: {
      KAFKA_BROKERS: '',
      WORKERS: '2',
      ADMIN_TOKEN: DEMO_ADMIN_TOKEN,
      LEGACY_DEMO_PORT: '0',
      SWITCHYARD_INSTANCE: 'demo',
    },
  });
  t.after(() => gw.stop());
  return gw;
}

/** `PUT /v1/admin/routes/live-map` with `body` (JSON text); asserts the 200. */
export async function putLiveMapRoute(gw: GatewayProcess, body: string): Promise<void> {
  const change = await fetch(`${gw.url}/v1/admin/routes/live-map`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body,
  });
  assert.equal(change.status, 200, await change.text());
}
