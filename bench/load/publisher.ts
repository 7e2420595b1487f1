import { Agent, request } from 'node:http';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import { type BenchMessage, OrderFactory } from './orders.ts';

/** Where published messages go: a Kafka topic (Switchyard) or an HTTP publish endpoint (baselines). */
export interface MessageSink {
  readonly name: string;
  /** Sends the messages due in one tick; never throws (failures are counted). */
  send(batch: readonly BenchMessage[]): void;
  readonly errors: number;
  close(): Promise<void>;
}

/** Produces to one topic, partition 0, with the record timestamp set to the creation time. */
export class KafkaSink implements MessageSink {
  readonly name = 'kafka';
  errors = 0;
  private constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  static async connect(brokers: readonly string[], topic: string): Promise<KafkaSink> {
    const kafka = new Kafka({
      clientId: 'switchyard-bench',
      brokers: [...brokers],
      logLevel: logLevel.NOTHING,
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    return new KafkaSink(producer, topic);
  }

  send(batch: readonly BenchMessage[]): void {
    const messages = batch.map((m) => ({
      key: m.key,
      value: m.value,
      timestamp: String(m.createdAt),
      partition: 0,
    }));
    // acks=1: the publish path should not be what the latency measures.
    this.producer.send({ topic: this.topic, messages, acks: 1 }).catch(() => {
      this.errors++;
    });
  }

  /** Sends and waits (prefill before a run). */
  async sendAndWait(batch: readonly BenchMessage[]): Promise<void> {
    const messages = batch.map((m) => ({ key: m.key, value: m.value, timestamp: String(m.createdAt) }));
    await this.producer.send({ topic: this.topic, messages, acks: 1 });
  }

  async close(): Promise<void> {
    await this.producer.disconnect().catch(() => {});
  }
}

/** POSTs each message as its own request body (nchan publishes one message per POST). */
export class HttpSink implements MessageSink {
  readonly name: string;
  errors = 0;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 4 });
  private readonly url: URL;

  constructor(url: string) {
    this.url = new URL(url);
    this.name = `http ${this.url.pathname}`;
  }

  send(batch: readonly BenchMessage[]): void {
    for (const m of batch) this.post(m.value);
  }

  /** Sends and waits (prefill before a run). */
  async sendAndWait(batch: readonly BenchMessage[]): Promise<void> {
    for (const m of batch) await this.post(m.value);
  }

  private post(body: string): Promise<void> {
    return new Promise((resolve) => {
      const req = request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          if ((res.statusCode ?? 500) >= 300) this.errors++;
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', () => {
        this.errors++;
        resolve();
      });
      req.end(body);
    });
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

const TICK_MS = 5;

/**
 * Writes R orders per second to a sink, paced by one timer with a fractional carry (so any rate
 * is exact on average), each order stamped with its send time. Remembers every creation time,
 * so "expected" can be counted for any window afterwards.
 */
export class Publisher {
  private readonly orders: OrderFactory;
  private timer: NodeJS.Timeout | null = null;
  private carry = 0;
  private last = 0;
  private readonly created: number[] = [];

  constructor(
    private readonly sink: MessageSink,
    seed?: number,
  ) {
    this.orders = new OrderFactory(seed);
  }

  get sent(): number {
    return this.created.length;
  }

  /** `n` orders now, in one batch (e.g. to give a snapshot a body before a polling run). */
  batch(n: number): BenchMessage[] {
    const now = Date.now();
    const out: BenchMessage[] = [];
    for (let i = 0; i < n; i++) out.push(this.orders.next(now));
    return out;
  }

  start(ratePerSec: number): void {
    if (this.timer || ratePerSec <= 0) return;
    this.last = performance.now();
    this.timer = setInterval(() => {
      const t = performance.now();
      this.carry += ((t - this.last) * ratePerSec) / 1000;
      this.last = t;
      const n = Math.floor(this.carry);
      if (n === 0) return;
      this.carry -= n;
      const batch: BenchMessage[] = [];
      for (let i = 0; i < n; i++) {
        const now = Date.now();
        const m = this.orders.next(now);
        this.created.push(now);
        batch.push(m);
      }
      this.sink.send(batch);
    }, TICK_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Messages created in [t0, t1). */
  countCreated(t0: number, t1: number): number {
    let n = 0;
    for (const c of this.created) if (c >= t0 && c < t1) n++;
    return n;
  }
}
