/**
 * Why a topic cannot be read, as one stable word (metric label, `/readyz` and `status` detail,
 * log field). Pure: looks at an error's name, Kafka error type and message, and at its causes.
 */
export const TOPIC_TROUBLE = [
  /** A batch in a codec this gateway does not decode (KAFKA_CODECS, or its library missing). */
  'codec_refused',
  /** A batch that fails to decompress or parse (corrupt on disk or in flight). */
  'corrupt_batch',
  /** The topic does not exist (deleted, or not created yet). */
  'topic_missing',
  /** The broker refuses this client the topic (ACLs). */
  'not_authorized',
  /** The topic was deleted and created again: it is being read again from its start. */
  'topic_replaced',
  /**
   * The next offset was deleted before it was read (retention, `deleteRecords`): the topic is read
   * again from its start, and its clients resync.
   */
  'offsets_out_of_range',
  /** Partitions lag behind the broker without advancing. */
  'stalled',
  /** The broker cannot be reached. */
  'broker_unreachable',
  /** Anything else (the detail says what). */
  'error',
] as const;
export type TopicTroubleReason = (typeof TOPIC_TROUBLE)[number];

interface ErrorLike {
  name?: string;
  type?: string;
  message?: string;
  code?: string;
  cause?: unknown;
  originalError?: unknown;
}

/** The error and its causes (kafkajs wraps: retries exhausted -> the last error). */
function chain(err: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let e: unknown = err;
  while (e && typeof e === 'object' && out.length < 8) {
    out.push(e as ErrorLike);
    const next = (e as ErrorLike).cause ?? (e as ErrorLike).originalError;
    if (next === e) break;
    e = next;
  }
  return out;
}

export function classifyTopicError(err: unknown): { reason: TopicTroubleReason; detail: string } {
  const errors = chain(err);
  const detail = (errors.at(-1)?.message ?? String(err)).slice(0, 300);
  for (const e of errors) {
    const text = `${e.name ?? ''} ${e.type ?? ''} ${e.code ?? ''} ${e.message ?? ''}`;
    if (
      /CODEC_REFUSED|CodecRefusedError|batches are not decoded here|compression not implemented/i.test(text)
    )
      return { reason: 'codec_refused', detail: (e.message ?? detail).slice(0, 300) };
    if (/TOPIC_AUTHORIZATION_FAILED|not authorized to access topics/i.test(text))
      return { reason: 'not_authorized', detail };
    if (
      /UNKNOWN_TOPIC_OR_PARTITION|UNKNOWN_TOPIC_ID|does not host this topic-partition|not present in metadata|topic.*(not found|does not exist)/i.test(
        text,
      )
    )
      return { reason: 'topic_missing', detail };
    if (
      /incorrect header check|invalid (block|frame|stored)|unexpected end|corrupt|checksum|crc|snappy|lz4|zstd|KafkaJSPartialMessageError|Z_DATA_ERROR|decompress/i.test(
        text,
      )
    )
      return { reason: 'corrupt_batch', detail: (e.message ?? detail).slice(0, 300) };
  }
  for (const e of errors) {
    const text = `${e.name ?? ''} ${e.code ?? ''} ${e.message ?? ''}`;
    if (
      /KafkaJSConnectionError|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Connection (timeout|error|closed)|KafkaJSBrokerNotFound|KafkaJSNonRetriableError: .*connect/i.test(
        text,
      )
    )
      return { reason: 'broker_unreachable', detail };
  }
  return { reason: 'error', detail };
}
