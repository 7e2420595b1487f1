/**
 * The common stage of the fault-injection tests: two gateway processes on the real broker behind
 * NGINX (configured from docs/deploy/nginx.conf.template), a numbered producer, and helpers to
 * put streaming clients and pollers on it. Everything started is registered for `close()`.
 */

import { after, before } from 'node:test';
import { GatewayProcess, metricValue } from '../helpers/gateway-process.ts';
import { closeKafkaHelpers, createTopic } from '../helpers/kafka.ts';
import { Nginx } from '../helpers/nginx.ts';
import { COUNTERS, FEED, Fleet, Poller, waitFor } from './fleet.ts';
import { NumberedProducer } from './producer.ts';

/** Gateway settings shared by the fault tests (short timings so faults play out in seconds). */
export const FAULT_ENV = {
  WORKERS: '1',
  HEARTBEAT_MS: '2000',
  RETRY_MS: '1000',
  SHUTDOWN_DRAIN_MS: '6000',
  STALE_AFTER_MS: '2000',
  KAFKA_MAX_RETRY_MS: '2000',
  HISTORY_SIZE: '50000',
  // Every client reaches the gateways from NGINX's address: the per-IP cap is NGINX's job here.
  MAX_STREAMS_PER_IP: '0',
  MAX_STREAMS: '5000',
  // These tests check delivery, not capacity: event-loop shedding (test/integration/overload*)
  // would turn a slow shared CI box into refusals that have nothing to do with the faults.
  MAX_EVENT_LOOP_LAG_MS: '0',
  LOG_LEVEL: 'warn',
} as const;

export interface ScenarioOptions {
  /** Extra or overriding gateway env. */
  env?: Record<string, string>;
  /** Ticks written before the gateways start (the state clients bootstrap from). */
  seedTicks?: number;
  producer?: ConstructorParameters<typeof NumberedProducer>[2];
  /** Also configure a `bulk` feed stream (large records, for back-pressure tests). */
  bulk?: boolean;
}

/** Name of the optional bulk stream. */
export const BULK = 'bulk';

export class Scenario {
  readonly gateways: GatewayProcess[] = [];
  nginx!: Nginx;
  producer!: NumberedProducer;
  /** Topic of the `bulk` stream, when configured. */
  bulkTopic: string | null = null;
  private readonly closers: Array<() => unknown> = [];

  /** Creates the topics, seeds them, starts two gateways and NGINX in front of them. */
  static async start(opts: ScenarioOptions = {}): Promise<Scenario> {
    const s = new Scenario();
    try {
      const feed = await createTopic('fault-feed', { partitions: 1 });
      const counters = await createTopic('fault-counters', { partitions: 3, compacted: true });
      s.producer = new NumberedProducer(feed, counters, opts.producer);
      s.closers.push(() => s.producer.stop().catch(() => {}));
      await s.producer.writeTicks(opts.seedTicks ?? 20);
      const streams: unknown[] = [
        { name: COUNTERS, topic: counters, mode: 'table' },
        { name: FEED, topic: feed, mode: 'feed', maxItems: 200 },
      ];
      if (opts.bulk) {
        s.bulkTopic = await createTopic('fault-bulk', { partitions: 1 });
        streams.push({ name: BULK, topic: s.bulkTopic, mode: 'feed', maxItems: 4 });
      }
      const env = {
        ...FAULT_ENV,
        KAFKA_BROKERS: process.env.KAFKA_BROKERS ?? '',
        STREAMS: JSON.stringify(streams),
        ...opts.env,
      };
      const [a, b] = await Promise.all([
        GatewayProcess.start({ env, name: 'gateway-a' }),
        GatewayProcess.start({ env, name: 'gateway-b' }),
      ]);
      s.gateways.push(a, b);
      s.closers.push(() => Promise.all([a.stop(), b.stop()]));
      s.nginx = await Nginx.start({ upstreams: [a.port, b.port] });
      s.closers.push(() => s.nginx.stop());
    } catch (err) {
      await s.close();
      throw err;
    }
    return s;
  }

  /** Opens `clients` streaming clients through NGINX; they are closed by `close()`. */
  async fleet(clients: number, streams?: string): Promise<Fleet> {
    const fleet = new Fleet({ origin: this.nginx.origin, ca: this.nginx.cert.pem, clients, streams });
    this.closers.push(() => fleet.close());
    await fleet.start();
    return fleet;
  }

  /**
   * The load the fault tests inject under: `clients` streaming clients and `pollers` pollers
   * through NGINX, the producer started; resolves once every client has had `updates` updates
   * (30 s guard).
   */
  async underLoad(
    clients: number,
    pollers: number,
    updates: number,
  ): Promise<{ fleet: Fleet; pollers: Poller[] }> {
    const fleet = await this.fleet(clients);
    const started = this.pollers(pollers);
    this.producer.start();
    await waitFor(
      () => fleet.clients.every((c) => c.updates >= updates),
      30_000,
      () => `${fleet.clients.filter((c) => c.updates < updates).length} clients still waiting for updates`,
    );
    return { fleet, pollers: started };
  }

  /** Starts `count` pollers through NGINX; they are stopped by `close()`. */
  pollers(count: number, intervalMs = 250): Poller[] {
    const list = Array.from(
      { length: count },
      () => new Poller({ origin: this.nginx.origin, ca: this.nginx.cert.pem, intervalMs }),
    );
    for (const p of list) {
      this.closers.push(() => p.stop());
      p.start();
    }
    return list;
  }

  /** Sum of a metric over the gateways that are running. */
  async metricSum(name: string, labels: Record<string, string> = {}): Promise<number> {
    let sum = 0;
    for (const gw of this.gateways) {
      if (!gw.running) continue;
      const v = metricValue(await gw.metricsText(), name, labels);
      if (Number.isFinite(v)) sum += v;
    }
    return sum;
  }

  /** Stops everything started, in reverse order; never throws. */
  async close(): Promise<void> {
    for (const c of this.closers.splice(0).reverse()) {
      try {
        await c();
      } catch {
        // cleanup goes on
      }
    }
  }

  /** The tails of NGINX's error log and of the gateways' logs, for assertion messages. */
  async diagnostics(): Promise<string> {
    const nginx = (await this.nginx?.errorLog())?.slice(-6000) ?? '';
    const gws = this.gateways.map((g) => `--- ${g.name}\n${g.logs.slice(-3000)}`).join('\n');
    return `--- nginx error.log\n${nginx}\n${gws}`;
  }
}

/**
 * One scenario for a `describe` block: started in `before`, closed (then the Kafka helpers) in
 * `after`. Read `scenario` inside the tests, once `before` has run.
 */
export function scenarioPerSuite(opts: ScenarioOptions = {}): { readonly scenario: Scenario } {
  let s: Scenario | undefined;
  before(async () => {
    s = await Scenario.start(opts);
  });
  after(async () => {
    await s?.close();
    await closeKafkaHelpers();
  });
  return {
    get scenario(): Scenario {
      if (!s) throw new Error('the scenario is read before it started');
      return s;
    },
  };
}
