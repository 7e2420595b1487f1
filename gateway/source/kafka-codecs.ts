/**
 * Every compression codec a Kafka record batch can carry, registered into kafkajs (which ships
 * gzip only). kafkajs keeps codecs in one module-level table, so registration is process-wide:
 * the last `registerKafkaCodecs()` call decides which codecs are accepted.
 *
 * Libraries (bench/micro/codecs.ts measures them against pure-JS alternatives; figures in
 * docs/benchmarks.md): `snappy` and `lz4-napi` (Rust, napi-rs: prebuilt binaries shipped as npm
 * optional packages, no install script) and `@mongodb-js/zstd` 1.x (napi-rs as well; its 2.x+
 * lines download their binary from GitHub at install, which a fresh machine here cannot do; the
 * pure-JS `fzstd` decoded 5-7x slower). Each native module is loaded on first use: a
 * platform without its binary loses that codec only, and only topics written with it go stale.
 *
 * Framing, as the Java client writes it:
 * - lz4 (magic 2 batches): the standard LZ4 frame format, independent 64 KiB blocks, no content
 *   size (Kafka's `KafkaLZ4BlockOutputStream`). The pre-0.10 "KafkaLZ4" variant with a wrong
 *   header checksum only exists in magic 0 message sets (clients before Kafka 0.10); such a batch
 *   fails its frame checksum and its topic goes stale, like any undecodable batch.
 * - snappy: xerial snappy-java's stream framing (`SnappyOutputStream`): an 8-byte magic
 *   `\x82SNAPPY\0`, two int32 versions, then blocks of `int32 length + raw snappy`. librdkafka and
 *   older clients may write one raw snappy block instead; both are read.
 * - zstd: standard zstd frames (one or more).
 */
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzip as gzipCb } from 'node:zlib';
import kafkajs from 'kafkajs';

import { CODEC_NAMES, type CodecName, type ProducerCompression } from '../config/kafka-codec-names.ts';

// The names live in the config layer (KAFKA_CODECS parses them); the source's users import them here.
export { CODEC_NAMES, type CodecName, type ProducerCompression };

/** A batch in a codec this gateway does not decode (refused by KAFKA_CODECS, or its library is missing). */
export class CodecRefusedError extends Error {
  readonly code = 'CODEC_REFUSED';
  constructor(
    readonly codec: CodecName,
    why: string,
  ) {
    super(`${codec} record batches are not decoded here: ${why}`);
    this.name = 'CodecRefusedError';
  }
}

interface Codec {
  compress(data: Buffer): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

// kafkajs is CommonJS: its codec table is reachable through the default export only.
const { CompressionCodecs, CompressionTypes } = kafkajs;
type CompressionTypes = kafkajs.CompressionTypes;
const require = createRequire(import.meta.url);
const gzip = promisify(gzipCb);
const gunzip = promisify(gunzipCb);

// --- snappy (xerial framing) -------------------------------------------------------------------

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
/** Magic, version 1, compatible version 1: the header snappy-java writes. */
const XERIAL_HEADER = Buffer.concat([XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])]);
/** snappy-java's default block size. */
const XERIAL_BLOCK = 32 * 1024;

interface SnappyLib {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, opts?: { asBuffer?: boolean }): Buffer | string;
}

function snappyCodec(lib: SnappyLib): Codec {
  const raw = (b: Uint8Array) => lib.uncompressSync(b, { asBuffer: true }) as Buffer;
  return {
    async compress(data) {
      const parts: Buffer[] = [XERIAL_HEADER];
      for (let at = 0; at < Math.max(data.length, 1); at += XERIAL_BLOCK) {
        const block = lib.compressSync(data.subarray(at, at + XERIAL_BLOCK));
        const len = Buffer.allocUnsafe(4);
        len.writeUInt32BE(block.length);
        parts.push(len, block);
      }
      return Buffer.concat(parts);
    },
    async decompress(data) {
      if (data.length < 16 || !data.subarray(0, 8).equals(XERIAL_MAGIC)) return raw(data);
      const out: Buffer[] = [];
      let at = 16;
      while (at < data.length) {
        if (at + 4 > data.length) throw new Error('snappy: truncated xerial block length');
        const len = data.readUInt32BE(at);
        at += 4;
        if (at + len > data.length) throw new Error('snappy: truncated xerial block');
        out.push(raw(data.subarray(at, at + len)));
        at += len;
      }
      return out.length === 1 ? out[0]! : Buffer.concat(out);
    },
  };
}

// --- lz4 (frame format) ------------------------------------------------------------------------

interface Lz4Lib {
  compressFrameSync(data: Buffer): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
}

function lz4Codec(lib: Lz4Lib): Codec {
  return {
    async compress(data) {
      return lib.compressFrameSync(data);
    },
    async decompress(data) {
      return lib.decompressFrameSync(data);
    },
  };
}

// --- zstd --------------------------------------------------------------------------------------

interface ZstdLib {
  compress(data: Buffer, level?: number): Promise<Buffer>;
  decompress(data: Buffer): Promise<Buffer>;
}

function zstdCodec(lib: ZstdLib): Codec {
  return { compress: (data) => lib.compress(data, 3), decompress: (data) => lib.decompress(data) };
}

// --- registration ------------------------------------------------------------------------------

const TYPES: Record<CodecName, CompressionTypes> = {
  gzip: CompressionTypes.GZIP,
  snappy: CompressionTypes.Snappy,
  lz4: CompressionTypes.LZ4,
  zstd: CompressionTypes.ZSTD,
};

const LOADERS: Record<CodecName, () => Codec> = {
  gzip: () => ({ compress: (d) => gzip(d), decompress: (d) => gunzip(d) }),
  snappy: () => snappyCodec(require('snappy') as SnappyLib),
  lz4: () => lz4Codec(require('lz4-napi') as Lz4Lib),
  zstd: () => zstdCodec(require('@mongodb-js/zstd') as ZstdLib),
};

/** A codec as kafkajs calls it: compress gets its Encoder (`.buffer`), decompress a Buffer. */
interface KafkajsCodec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

let accepted: ReadonlySet<CodecName> = new Set(CODEC_NAMES);
const loaded = new Map<CodecName, Codec | Error>();

/** The codec's implementation, loading its library once; a failed load is remembered. */
export function loadCodec(name: CodecName): Codec {
  let c = loaded.get(name);
  if (!c) {
    try {
      c = LOADERS[name]();
    } catch (err) {
      c = err instanceof Error ? err : new Error(String(err));
    }
    loaded.set(name, c);
  }
  if (c instanceof Error) throw new CodecRefusedError(name, `its library did not load (${c.message})`);
  return c;
}

function kafkajsCodec(name: CodecName): KafkajsCodec {
  return {
    async compress(encoder) {
      return loadCodec(name).compress(encoder.buffer);
    },
    async decompress(buffer) {
      if (!accepted.has(name)) throw new CodecRefusedError(name, 'not listed in KAFKA_CODECS');
      return loadCodec(name).decompress(buffer);
    },
  };
}

/**
 * Registers every codec into kafkajs; batches in a codec outside `accept` fail to decode with a
 * {@link CodecRefusedError} (their topic goes stale, the others read on); without `accept`, the
 * accepted set stays as it is (all codecs until told otherwise). Idempotent; process-wide (see
 * the file comment).
 */
export function registerKafkaCodecs(accept?: Iterable<CodecName>): void {
  if (accept) accepted = new Set(accept);
  const table = CompressionCodecs as unknown as Record<number, () => KafkajsCodec>;
  for (const name of CODEC_NAMES) {
    const codec = kafkajsCodec(name);
    table[TYPES[name]] = () => codec;
  }
}

/** The kafkajs `compression` value of a producer setting (`none`: undefined, no compression). */
export function producerCompression(c: ProducerCompression): CompressionTypes | undefined {
  return c === 'none' ? undefined : TYPES[c];
}
