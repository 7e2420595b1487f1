/**
 * Decode cost per record of each Kafka compression codec, next to the cost of what the gateway
 * does with every record anyway (JSON.parse + JSON.stringify, record-decoder.ts). One batch of
 * realistic JSON records (~200 B each) is compressed once per codec, then decompressed in a loop;
 * each library the gateway uses is measured beside the pure-JS alternative it was chosen over.
 *
 *   node --import tsx bench/micro/codecs.ts [--records 500] [--seconds 1]
 *
 * Pure-JS alternatives (snappyjs, lz4js) are dev dependencies, used here only.
 */
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadCodec } from '../../gateway/source/kafka-codecs.ts';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '500' }, seconds: { type: 'string', default: '1' } },
});
const n = Number(values.records);
const seconds = Number(values.seconds);
const require = createRequire(import.meta.url);

/** A Kafka-like batch body: n JSON values with some repetition, as real topics have. */
function batch(): Buffer {
  const cities = ['Lyon', 'Berlin', 'Madrid', 'Osaka', 'Lima', 'Oslo', 'Porto', 'Cairo'];
  const parts: string[] = [];
  for (let i = 0; i < n; i++)
    parts.push(
      JSON.stringify({
        id: `o-${1_000_000 + i}`,
        city: cities[i % cities.length],
        amount: Math.round(((i * 7919) % 100_000) / 7) / 100,
        currency: i % 3 === 0 ? 'EUR' : 'USD',
        createdAt: new Date(1_732_872_000_000 + i * 37).toISOString(),
        items: [{ sku: `sku-${i % 97}`, qty: 1 + (i % 4) }],
      }),
    );
  return Buffer.from(parts.join('\n'));
}

/** A candidate: decodes (or re-serialises) the whole batch once per call. */
interface Candidate {
  codec: string;
  library: string;
  bytes: number;
  run: () => unknown | Promise<unknown>;
  samples: number[];
}

const raw = batch();
const lines = raw.toString().split('\n');
const candidates: Candidate[] = [];

async function add(
  codec: string,
  library: string,
  input: Buffer,
  decode: (b: Buffer) => unknown,
): Promise<void> {
  const out = (await decode(input)) as Uint8Array;
  if (Buffer.compare(Buffer.from(out.buffer, out.byteOffset, out.byteLength), raw) !== 0)
    throw new Error(`${library} did not round-trip`);
  candidates.push({ codec, library, bytes: input.length, run: () => decode(input), samples: [] });
}

candidates.push({
  codec: 'json',
  library: 'JSON.parse + stringify (every record, any codec)',
  bytes: raw.length,
  run: () => {
    for (const l of lines) JSON.stringify(JSON.parse(l));
  },
  samples: [],
});
await add('none', '(Buffer copy)', raw, (b) => Buffer.from(b));
await add('gzip', 'node:zlib (kafkajs default)', gzipSync(raw), (b) => gunzipSync(b));

const snappy = require('snappy') as {
  compressSync(b: Buffer): Buffer;
  uncompressSync(b: Buffer, o: { asBuffer: true }): Buffer;
};
const snappyBlock = snappy.compressSync(raw);
await add('snappy', 'snappy (napi-rs)', snappyBlock, (b) => snappy.uncompressSync(b, { asBuffer: true }));
const snappyjs = require('snappyjs') as { uncompress(b: Buffer): Buffer };
await add('snappy', 'snappyjs (pure JS)', snappyBlock, (b) => snappyjs.uncompress(b));

const lz4 = require('lz4-napi') as {
  compressFrameSync(b: Buffer): Buffer;
  decompressFrameSync(b: Buffer): Buffer;
};
const lz4Frame = lz4.compressFrameSync(raw);
await add('lz4', 'lz4-napi (napi-rs)', lz4Frame, (b) => lz4.decompressFrameSync(b));
const lz4js = require('lz4js') as { decompress(b: Uint8Array): Uint8Array };
await add('lz4', 'lz4js (pure JS)', lz4Frame, (b) => lz4js.decompress(b));

const mzstd = require('@mongodb-js/zstd') as {
  compress(b: Buffer, l: number): Promise<Buffer>;
  decompress(b: Buffer): Promise<Buffer>;
};
const zstdFrame = await mzstd.compress(raw, 3);
await add('zstd', '@mongodb-js/zstd 1.x (napi-rs, libuv pool)', zstdFrame, (b) => mzstd.decompress(b));
const fzstd = require('fzstd') as { decompress(b: Uint8Array): Uint8Array };
await add('zstd', 'fzstd (pure JS)', zstdFrame, (b) => fzstd.decompress(b));

// The gateway's own path: the codec as registered into kafkajs, framing included.
for (const name of ['gzip', 'snappy', 'lz4', 'zstd'] as const) {
  const c = loadCodec(name);
  await add(name, 'gateway codec (kafka-codecs.ts)', await c.compress(raw), (b) => c.decompress(b));
}

// Rounds interleave the candidates, and each row reports its median round: on a shared machine
// a burst of load then hits every candidate alike instead of one row.
const ROUNDS = 9;
for (const c of candidates) for (let i = 0; i < 20; i++) await c.run();
for (let round = 0; round < ROUNDS; round++)
  for (const c of candidates) {
    const budget = (seconds * 1e9) / ROUNDS;
    let calls = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < budget) {
      await c.run();
      calls++;
      elapsed = Number(process.hrtime.bigint() - start);
    }
    c.samples.push(elapsed / calls);
  }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(
  `${n} JSON records, ${raw.length} bytes (${(raw.length / n).toFixed(0)} B/record); median of ${ROUNDS} interleaved rounds, ${seconds} s per row in all\n`,
);
console.log('| codec | library | batch bytes | ns/record | MB/s (uncompressed) |');
console.log('| --- | --- | ---: | ---: | ---: |');
for (const c of candidates) {
  const ns = median(c.samples);
  console.log(
    `| ${c.codec} | ${c.library} | ${c.bytes} | ${(ns / n).toFixed(0)} | ${((raw.length / ns) * 1e3).toFixed(0)} |`,
  );
}
