import { Kafka, type LogEntry, logLevel } from 'kafkajs';
import type { Logger } from '../observability/logger.ts';

export interface KafkaClientOptions {
  brokers: readonly string[];
  clientId: string;
  connectTimeoutMs: number;
  maxRetryMs: number;
}

/**
 * kafkajs errors that are expected states while topics and groups are being set up, or while
 * several workers race to create the control topic: logged at debug, not as warnings. (If they
 * last, the gateway's own retry and readiness logs say so.)
 */
const TRANSIENT =
  /does not host this topic-partition|no leader for this topic-partition|leader is not available|coordinator is not available|coordinator is loading|not the correct coordinator|group is rebalancing|Topic creation errors/i;

/**
 * The one way the gateway builds a kafkajs client: its retry policy, and its logs routed into
 * pino (kafkajs errors as warnings: the gateway decides what is fatal; the rest at debug).
 */
export function createKafkaClient(opts: KafkaClientOptions, log: Logger): Kafka {
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
        const transient = TRANSIENT.test(`${String((extra as { error?: unknown }).error ?? '')} ${message}`);
        if (level <= logLevel.ERROR && !transient) log.warn({ kafkajs: extra }, message);
        else log.debug({ kafkajs: extra }, message);
      },
  });
}
