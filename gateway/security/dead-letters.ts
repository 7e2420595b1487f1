import type { Config } from '../config/load.ts';
import type { Logger } from '../observability/logger.ts';
import type { KafkaHealth } from '../source/kafka-health.ts';
import type { SourceRecord } from '../source/types.ts';
import { DeadLetterQueue, kafkaDeadLetterSender } from './dead-letter-queue.ts';
import type { SecurityEvents } from './security-events.ts';

/** Where the cache observer hands rejected records (the Kafka edge of DLQ_TOPIC). */
export interface DeadLetterSink {
  offer(stream: string, reason: string, detail: string, rec: Partial<SourceRecord>): void;
  /** Flushes (bounded) and closes the producer; idempotent. */
  stop(): Promise<void>;
}

/**
 * The dead-letter sink of a gateway, or null when DLQ_TOPIC is unset or there is no Kafka
 * source. Key and value are copied when queued, so a queued letter never pins a whole fetch buffer.
 */
export function createDeadLetters(
  config: Config,
  logger: Logger,
  events: Pick<SecurityEvents, 'deadLettered'>,
  kafkaHealth?: KafkaHealth,
): DeadLetterSink | null {
  const topic = config.security.dlqTopic;
  if (topic === null || config.kafka === null) return null;
  const log = logger.child({ component: 'dead-letters', dlqTopic: topic });
  const sender = kafkaDeadLetterSender({ ...config.kafka, topic, logger: log });
  kafkaHealth?.describe('dlq', [topic], 'DLQ_TOPIC');
  const queue = new DeadLetterQueue({
    send: sender.send,
    logger: log,
    maxRetryMs: config.kafka.maxRetryMs,
    onResult: (result, n) => {
      events.deadLettered(result, n);
      if (result === 'sent') kafkaHealth?.recovered('dlq');
    },
    onError: kafkaHealth ? (err, retryInMs) => kafkaHealth.failed('dlq', err, { retryInMs }) : undefined,
  });
  let stopped: Promise<void> | null = null;
  return {
    offer(stream, reason, detail, rec) {
      queue.offer({
        stream,
        reason,
        detail,
        topic: rec.topic ?? '',
        partition: rec.partition ?? -1,
        offset: rec.offset ?? -1,
        key: rec.key ? Buffer.from(rec.key) : null,
        value: rec.value ? Buffer.from(rec.value) : null,
        timestamp: rec.timestamp ?? 0,
      });
    },
    // Single-flight: the shutdown and a test may both stop the gateway.
    stop() {
      stopped ??= queue.stop().then(() => sender.close());
      return stopped;
    },
  };
}
