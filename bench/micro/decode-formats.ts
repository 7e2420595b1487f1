/**
 * Decode cost per record for each value format, next to plain JSON: the whole path a record
 * takes into the cache (`decodeRecord`: framing, payload decode, depth and hostile-key checks,
 * the single JSON.stringify), with schemas already cached (the steady state; fetching happens
 * once per schema id). The same 9-field "trade" record in each format; Avro and Protobuf are
 * encoded with avsc and protobufjs, JSON Schema is JSON text validated with Ajv.
 *
 *   node --import tsx bench/micro/decode-formats.ts [--records 200000] [--runs 5]
 * Prints a table: bytes per record, CPU ns per record (process CPU time, not wall time, so other
 * load on the machine inflates it less; median of the runs), records/s of one core, and the
 * cost relative to JSON.
 */
import { parseArgs } from 'node:util';
import avro from 'avsc';
import protobuf from 'protobufjs';
import { decodeRecord } from '../../gateway/cache/record-decoder.ts';
import { type StreamConfig, streamSchema } from '../../gateway/config/streams.ts';
import type { RegistryClient, RegistrySchema } from '../../gateway/formats/registry-client.ts';
import { SchemaFormats } from '../../gateway/formats/schema-formats.ts';
import { frame } from '../../gateway/formats/wire.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '200000' }, runs: { type: 'string', default: '5' } },
});
const N = Number(values.records);
const RUNS = Number(values.runs);

const TRADE = {
  id: 'T-000123456',
  symbol: 'ACME',
  side: 'SELL',
  qty: 1500,
  price: 101.25,
  tsMicros: 1_733_480_000_123_456,
  venue: 'XLON',
  trader: 'desk-7/alice',
  settled: false,
};
const AVRO_SCHEMA = {
  type: 'record',
  name: 'Trade',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'symbol', type: 'string' },
    { name: 'side', type: { type: 'enum', name: 'Side', symbols: ['BUY', 'SELL'] } },
    { name: 'qty', type: 'long' },
    { name: 'price', type: 'double' },
    { name: 'tsMicros', type: 'long' },
    { name: 'venue', type: 'string' },
    { name: 'trader', type: 'string' },
    { name: 'settled', type: 'boolean' },
  ],
};
const PROTO = `syntax = "proto3";
message Trade {
  string id = 1; string symbol = 2; Side side = 3; int64 qty = 4; double price = 5;
  int64 ts_micros = 6; string venue = 7; string trader = 8; bool settled = 9;
  enum Side { BUY = 0; SELL = 1; }
}
`;
const JSON_SCHEMA = {
  type: 'object',
  required: ['id', 'symbol', 'side', 'qty', 'price'],
  properties: {
    id: { type: 'string' },
    symbol: { type: 'string', maxLength: 12 },
    side: { enum: ['BUY', 'SELL'] },
    qty: { type: 'integer', minimum: 0 },
    price: { type: 'number' },
    tsMicros: { type: 'integer' },
    venue: { type: 'string' },
    trader: { type: 'string' },
    settled: { type: 'boolean' },
  },
};

const schemas = new Map<number, RegistrySchema>([
  [1, { schemaType: 'AVRO', schema: JSON.stringify(AVRO_SCHEMA), references: [] }],
  [2, { schemaType: 'PROTOBUF', schema: PROTO, references: [] }],
  [3, { schemaType: 'JSON', schema: JSON.stringify(JSON_SCHEMA), references: [] }],
]);
const client = {
  schemaById: async (id: number) => {
    const s = schemas.get(id);
    if (!s) throw new Error(`no schema ${id}`);
    return s;
  },
} as unknown as RegistryClient;

const protoType = protobuf.parse(PROTO).root.lookupType('Trade');
const cases: Array<{ format: StreamConfig['format']; value: Buffer }> = [
  { format: 'json', value: Buffer.from(JSON.stringify(TRADE)) },
  { format: 'avro', value: frame(1, avro.Type.forSchema(AVRO_SCHEMA as avro.Schema).toBuffer(TRADE)) },
  {
    format: 'protobuf',
    value: frame(2, protoType.encode(protoType.fromObject({ ...TRADE, side: 1 })).finish(), [0]),
  },
  { format: 'jsonschema', value: frame(3, Buffer.from(JSON.stringify(TRADE))) },
];

const streams = cases.map((c) =>
  streamSchema.parse({ name: c.format, topic: c.format, mode: 'table', format: c.format }),
);
const formats = new SchemaFormats({ streams, client, logger: createLogger('silent') });

function measure(stream: StreamConfig, value: Buffer): number {
  const rec: SourceRecord = {
    topic: stream.topic,
    partition: 0,
    offset: 0,
    key: Buffer.from('T-000123456'),
    value,
    timestamp: 1,
  };
  let sink = 0;
  const start = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const r = decodeRecord(stream, rec, undefined, formats);
    if (!r.ok) throw new Error(`${stream.format}: ${r.reason} ${r.detail}`);
    sink += r.record.valueJson?.length ?? 0;
  }
  const used = process.cpuUsage(start);
  const ns = ((used.user + used.system) * 1000) / N;
  if (sink === 0) throw new Error('nothing decoded');
  return ns;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

for (const c of cases)
  await formats.prepare(c.format, [
    { topic: c.format, partition: 0, offset: 0, key: null, value: c.value, timestamp: 1 },
  ]);
for (const [i, c] of cases.entries()) measure(streams[i]!, c.value); // warm-up: JIT, caches
// Runs interleaved across formats, so a change in machine load hits all of them alike.
const samples: number[][] = cases.map(() => []);
for (let run = 0; run < RUNS; run++)
  for (const [i, c] of cases.entries()) samples[i]!.push(measure(streams[i]!, c.value));
const rows = cases.map((c, i) => ({ format: c.format, bytes: c.value.length, ns: median(samples[i]!) }));
const json = rows[0]!.ns;
process.stdout.write(
  `decode CPU per record (${N} records x ${RUNS} interleaved runs, median; node ${process.version})\n\n` +
    '| format     | bytes | CPU ns/record | records/s/core | vs json |\n' +
    '| ---------- | ----: | ------------: | -------------: | ------: |\n' +
    rows
      .map(
        (r) =>
          `| ${r.format.padEnd(10)} | ${String(r.bytes).padStart(5)} | ${r.ns.toFixed(0).padStart(13)} | ${Math.round(
            1e9 / r.ns,
          )
            .toLocaleString('en-US')
            .padStart(14)} | ${(r.ns / json).toFixed(2).padStart(6)}x |`,
      )
      .join('\n') +
    '\n',
);
