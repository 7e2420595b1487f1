import { Kafka, type LogEntry, logLevel } from 'kafkajs';
import type { Logger } from '../observability/logger.ts';
import { type CodecName, registerKafkaCodecs } from './kafka-codecs.ts';

export interface KafkaClientOptions {
  brokers: readonly string[];
  clientId: string;
  connectTimeoutMs: number;
  maxRetryMs: number;
  /** Codecs decoded on fetch (default: all); registered process-wide (kafka-codecs.ts). */
  codecs?: readonly CodecName[];
}

/**
 * The one way the gateway builds a kafkajs client: its retry policy, and its logs routed into
 * pino (kafkajs errors as warnings: the gateway decides what is fatal; the rest at debug).
 */
export function createKafkaClient(opts: KafkaClientOptions, log: Logger): Kafka {
  registerKafkaCodecs(opts.codecs);
  return new Kafka({
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    connectionTimeout: opts.connectTimeoutMs,
    retry: { initialRetryTime: 200, maxRetryTime: opts.maxRetryMs, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...extra } = entry;
        if (level <= logLevel.ERROR) log.warn({ kafkajs: extra }, message);
        else log.debug({ kafkajs: extra }, message);
      },
  });
}
