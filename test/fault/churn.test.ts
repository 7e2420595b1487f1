/**
 * Fault: connection churn. 10,000 streams are opened and dropped through NGINX over two
 * instances (a quarter cancelled before the answer arrives, the rest right after their
 * snapshot). Afterwards the open-stream gauge and the per-address accounting of both instances
 * are back to zero, their open file descriptors to where they were, and their heap after a
 * forced full GC within HEAP_SLACK_BYTES of the baseline taken after a warm-up: nothing is
 * retained per connection.
 */
import assert from 'node:assert/strict';
import type { ClientHttp2Session } from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { type GatewayProcess, type HeapReading, metricValue } from '../helpers/gateway-process.ts';
import { closeKafkaHelpers } from '../helpers/kafka.ts';
import { COUNTERS, h2connect } from './fleet.ts';
import { Scenario } from './scenario.ts';

const CYCLES = Number(process.env.FAULT_CHURN_CYCLES ?? 10_000);
const WARMUP_CYCLES = 1000;
const CONCURRENCY = 64;
/** Heap growth allowed over 10,000 cycles: 512 bytes per cycle would already exceed it. */
const HEAP_SLACK_BYTES = 4 * 1024 * 1024;
const FD_SLACK = 10;

describe('fault: 10,000 connect/disconnect cycles', { timeout: 240_000 }, () => {
  let s: Scenario;
  before(async () => {
    s = await Scenario.start({ seedTicks: 50 });
  });
  after(async () => {
    await s?.close();
    await closeKafkaHelpers();
  });

  test('connection gauges return to zero and the heap to its baseline', async (t) => {
    const churn = new Churn(s.nginx.origin, s.nginx.cert.pem);
    try {
      await churn.run(WARMUP_CYCLES);
      await settled(s.gateways);
      const base = await Promise.all(s.gateways.map((g) => g.heapAfterGc()));
      const fdsBase = await Promise.all(s.gateways.map(openFds));

      const started = Date.now();
      await churn.run(CYCLES);
      const elapsedMs = Date.now() - started;
      await settled(s.gateways);
      const end = await Promise.all(s.gateways.map((g) => g.heapAfterGc()));
      const fdsEnd = await Promise.all(s.gateways.map(openFds));

      const report = s.gateways.map((g, i) => ({
        name: g.name,
        heapBaseMiB: mib(base[i]!),
        heapEndMiB: mib(end[i]!),
        fds: `${fdsBase[i]} -> ${fdsEnd[i]}`,
      }));
      const what = `${CYCLES} cycles in ${elapsedMs} ms (${churn.failures} failed at the edge): ${JSON.stringify(report)}`;
      t.diagnostic(what);
      assert.equal(churn.completed, WARMUP_CYCLES + CYCLES, what);
      assert.ok(churn.snapshots >= CYCLES / 2, `${what}: most cycles got their snapshot`);
      for (const [i, g] of s.gateways.entries()) {
        const growth = end[i]!.heapUsed - base[i]!.heapUsed;
        assert.ok(growth < HEAP_SLACK_BYTES, `${what}: ${g.name} heap grew by ${growth} bytes`);
        assert.ok(fdsEnd[i]! <= fdsBase[i]! + FD_SLACK, `${what}: ${g.name} file descriptors`);
      }
    } finally {
      churn.close();
    }
  });
});

/** Waits until no stream is open on any instance and no address is accounted any more. */
async function settled(gateways: readonly GatewayProcess[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const texts = await Promise.all(gateways.map((g) => g.metricsText()));
    const open = texts.map((t) => metricValue(t, 'switchyard_sse_connections'));
    const addrs = texts.map((t) => metricValue(t, 'switchyard_stream_client_addresses'));
    if ([...open, ...addrs].every((n) => n === 0)) return;
    if (Date.now() > deadline) throw new Error(`streams still open: ${open} / addresses: ${addrs}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function openFds(g: GatewayProcess): Promise<number> {
  return metricValue(await g.metricsText(), 'process_open_fds');
}

function mib(h: HeapReading): number {
  return Math.round((h.heapUsed / 1024 / 1024) * 100) / 100;
}

/** Opens and drops streams over a few HTTP/2 connections, CONCURRENCY at a time. */
class Churn {
  completed = 0;
  snapshots = 0;
  failures = 0;
  private readonly sessions: Array<ClientHttp2Session | null> = [null, null];
  private seq = 0;

  constructor(
    private readonly origin: string,
    private readonly ca: string,
  ) {}

  async run(cycles: number): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < cycles) {
        next++;
        await this.cycle(this.seq++);
        this.completed++;
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }

  close(): void {
    for (const s of this.sessions) s?.destroy();
  }

  private session(i: number): ClientHttp2Session {
    const k = i % this.sessions.length;
    let s = this.sessions[k];
    if (!s || s.closed || s.destroyed) {
      s = h2connect(this.origin, this.ca);
      this.sessions[k] = s;
    }
    return s;
  }

  /** One stream: cancelled at once (every 4th), or after the snapshot arrived. */
  private cycle(i: number): Promise<void> {
    return new Promise((resolve) => {
      let req: ReturnType<ClientHttp2Session['request']>;
      try {
        req = this.session(i).request({
          ':path': `/v1/stream?streams=${COUNTERS}`,
          accept: 'text/event-stream',
        });
      } catch {
        this.failures++;
        resolve();
        return;
      }
      req.setEncoding('utf8');
      req.on('error', () => {});
      req.on('close', () => resolve());
      if (i % 4 === 0) {
        setImmediate(() => req.close());
        return;
      }
      let text = '';
      req.on('response', (h) => {
        if (h[':status'] !== 200) {
          this.failures++;
          req.close();
        }
      });
      req.on('data', (d: string) => {
        text += d;
        if (text.includes('event: snapshot')) {
          this.snapshots++;
          req.close();
        }
      });
    });
  }
}
