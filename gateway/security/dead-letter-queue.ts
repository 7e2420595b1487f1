import { Partitioners, type Producer } from 'kafkajs';
import type { Logger } from '../observability/logger.ts';
import { createKafkaClient, type KafkaClientOptions } from '../source/kafka-client.ts';
import { type ProducerCompression, producerCompression } from '../source/kafka-codecs.ts';
import { backoffDelay } from '../util/backoff.ts';
import type { DeadLetterResult } from './security-events.ts';

/** A rejected record and why, as copied to the dead-letter topic. */
export interface DeadLetter {
  readonly stream: string;
  readonly reason: string;
  readonly detail: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
}

export interface DeadLetterQueueOptions {
  /** Delivers one batch; rejects to have it retried (with backoff) while the queue has room. */
  send(letters: readonly DeadLetter[]): Promise<void>;
  onResult?(result: DeadLetterResult, count: number): void;
  /** Told each failed send; when given, it does the logging (the queue logs at debug). */
  onError?(err: unknown, retryInMs: number): void;
  logger: Logger;
  /** Bounds of the in-memory queue: past either, new letters are dropped (and counted). */
  maxRecords?: number;
  maxBytes?: number;
  batchSize?: number;
  maxRetryMs?: number;
}

/**
 * A bounded, asynchronous hand-off from the consumer to the dead-letter producer. `offer()` is
 * synchronous and O(1): the consumer never waits for the dead-letter topic, and when that topic
 * is slow or down, letters beyond the bounds are dropped (counted) instead of growing memory.
 */
export class DeadLetterQueue {
  private queue: DeadLetter[] = [];
  private bytes = 0;
  private running = false;
  private stopping = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private idle: Promise<void> = Promise.resolve();
  private readonly maxRecords: number;
  private readonly maxBytes: number;
  private readonly batchSize: number;

  constructor(private readonly opts: DeadLetterQueueOptions) {
    this.maxRecords = opts.maxRecords ?? 1000;
    this.maxBytes = opts.maxBytes ?? 16 * 1024 * 1024;
    this.batchSize = opts.batchSize ?? 100;
  }

  /** Letters waiting to be sent. */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues a letter; false (and counted as dropped) when the queue is full or stopping. */
  offer(letter: DeadLetter): boolean {
    const size = (letter.value?.length ?? 0) + (letter.key?.length ?? 0) + 256;
    if (this.stopping || this.queue.length >= this.maxRecords || this.bytes + size > this.maxBytes) {
      this.opts.onResult?.('dropped', 1);
      return false;
    }
    this.queue.push(letter);
    this.bytes += size;
    if (!this.running && this.retryTimer === null) this.idle = this.pump();
    return true;
  }

  /** Sends what it can within `timeoutMs`, then drops the rest (counted). Idempotent. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.stopping = true;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
      if (!this.running) this.idle = this.pump();
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([this.idle, deadline]);
    clearTimeout(timer);
    if (this.queue.length > 0) this.opts.onResult?.('dropped', this.queue.length);
    this.queue = [];
    this.bytes = 0;
  }

  private async pump(): Promise<void> {
    this.running = true;
    // Yield first: the consumer's batch finishes before any dead-letter I/O starts.
    await new Promise<void>((resolve) => setImmediate(resolve));
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.slice(0, this.batchSize);
        try {
          await this.opts.send(batch);
        } catch (err) {
          this.opts.onResult?.('failed', batch.length);
          if (this.stopping) return;
          const delay = backoffDelay(this.attempt++, 250, this.opts.maxRetryMs ?? 5000);
          this.opts.onError?.(err, delay);
          this.opts.logger[this.opts.onError ? 'debug' : 'warn'](
            { err: (err as Error)?.message, pending: this.queue.length, delayMs: delay },
            'dead-letter send failed; retrying',
          );
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.idle = this.pump();
          }, delay);
          this.retryTimer.unref();
          return;
        }
        this.attempt = 0;
        this.queue.splice(0, batch.length);
        for (const l of batch) this.bytes -= (l.value?.length ?? 0) + (l.key?.length ?? 0) + 256;
        this.opts.onResult?.('sent', batch.length);
      }
    } finally {
      this.running = false;
    }
  }
}

/** Record headers describing where a dead letter came from and why it was refused. */
export function deadLetterHeaders(l: DeadLetter): Record<string, string> {
  return {
    'switchyard-stream': l.stream,
    'switchyard-reason': l.reason,
    'switchyard-detail': l.detail.slice(0, 500),
    'switchyard-topic': l.topic,
    'switchyard-partition': String(l.partition),
    'switchyard-offset': String(l.offset),
    'switchyard-timestamp': String(l.timestamp),
  };
}

/**
 * A kafkajs producer for the dead-letter topic (its own client from the gateway's one factory, so
 * the same TLS and SASL, connected on first use). The original key and value are copied byte for
 * byte; the topic must exist (no auto-creation).
 */
export function kafkaDeadLetterSender(
  opts: KafkaClientOptions & {
    topic: string;
    logger: Logger;
    /** Codec of the dead letters written (default: none). */
    compression?: ProducerCompression;
  },
): {
  send(letters: readonly DeadLetter[]): Promise<void>;
  close(): Promise<void>;
} {
  // Few retries of its own: the queue retries with backoff and must not hold batches long.
  const kafka = createKafkaClient({ ...opts, clientId: `${opts.clientId}-dlq`, retries: 2 }, opts.logger);
  let producer: Producer | null = null;
  let connecting: Promise<Producer> | null = null;
  const connect = (): Promise<Producer> => {
    connecting ??= (async () => {
      const p = kafka.producer({
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      try {
        await p.connect();
      } catch (err) {
        connecting = null;
        throw err;
      }
      producer = p;
      return p;
    })();
    return connecting;
  };
  return {
    async send(letters) {
      const p = await connect();
      await p.send({
        topic: opts.topic,
        acks: -1,
        compression: producerCompression(opts.compression ?? 'none'),
        messages: letters.map((l) => ({
          key: l.key,
          value: l.value,
          headers: deadLetterHeaders(l),
        })),
      });
    },
    async close() {
      const p = producer;
      producer = null;
      connecting = null;
      await p?.disconnect().catch(() => {});
    },
  };
}
