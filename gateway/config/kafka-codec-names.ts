/**
 * The names of the Kafka compression codecs, as KAFKA_CODECS and KAFKA_COMPRESSION spell them.
 * Names only: the codecs themselves (native libraries, kafkajs registration) are the source's
 * (gateway/source/kafka-codecs.ts), so the config layer does not load them.
 */
export const CODEC_NAMES = ['gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CodecName = (typeof CODEC_NAMES)[number];
/** What a producer may write: no compression, or one of the codecs. */
export type ProducerCompression = 'none' | CodecName;
