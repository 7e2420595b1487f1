/**
 * Schema Registry formats without Kafka: the Confluent framing (both message-index forms), the
 * decoders of each format, and SchemaFormats against a registry stub on loopback (ids cached,
 * unknown ids, an outage, basic auth). The real registry and Apicurio's serializers are in
 * test/integration/schema-registry-formats.test.ts.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import avro from 'avsc';
import protobuf from 'protobufjs';
import { decodeRecord } from '../../gateway/cache/record-decoder.ts';
import { streamSchema } from '../../gateway/config/streams.ts';
import { compileSchema } from '../../gateway/formats/compile.ts';
import { RegistryClient, RegistryUnavailableError } from '../../gateway/formats/registry-client.ts';
import { SchemaFormats } from '../../gateway/formats/schema-formats.ts';
import { frame, readFraming } from '../../gateway/formats/wire.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import type { SourceRecord } from '../../gateway/source/types.ts';
import { testCertificate } from '../helpers/nginx.ts';

const TRADE = {
  type: 'record',
  name: 'Trade',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'qty', type: 'long' },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'raw', type: 'bytes' },
  ],
};
const PROTO = `syntax = "proto3";
package t;
message A { string a = 1; }
message B {
  message Inner { int64 big = 1; Kind kind = 2; }
  enum Kind { ZERO = 0; ONE = 1; }
  string b = 1;
}
`;

describe('Confluent framing', () => {
  test('header, and both forms of Protobuf message indexes', () => {
    const payload = Buffer.from([0x0a, 0x01, 0x78]);
    assert.deepEqual(readFraming(frame(7, payload), false), {
      ok: true,
      framing: { schemaId: 7, payloadOffset: 5 },
    });
    // [0] written short (Confluent: a single 0) and long (Apicurio: count 1, index 0).
    const short = Buffer.concat([Buffer.from([0, 0, 0, 0, 7, 0]), payload]);
    const long = Buffer.concat([Buffer.from([0, 0, 0, 0, 7, 2, 0]), payload]);
    for (const buf of [short, long]) {
      const r = readFraming(buf, true);
      assert.ok(r.ok);
      assert.deepEqual(r.framing.messageIndexes, [0]);
      assert.deepEqual(buf.subarray(r.framing.payloadOffset), payload);
    }
    const nested = readFraming(frame(9, payload, [1, 0]), true);
    assert.ok(nested.ok);
    assert.deepEqual(nested.framing.messageIndexes, [1, 0]);
    assert.equal(nested.framing.payloadOffset, 8);
    const big = readFraming(frame(70_000, payload, [200]), true); // a two-byte varint
    assert.ok(big.ok);
    assert.deepEqual([big.framing.schemaId, big.framing.messageIndexes], [70_000, [200]]);
  });

  test('what is not framed is refused with a reason, never thrown', () => {
    const cases: Array<[Buffer, boolean, RegExp]> = [
      [Buffer.from('{"a":1}'), false, /magic byte 123/],
      [Buffer.from([0, 0, 0]), false, /shorter than the 5-byte header/],
      [Buffer.from([0, 0xff, 0xff, 0xff, 0xff]), false, /negative schema id/],
      [Buffer.from([0, 0, 0, 0, 1]), true, /truncated message indexes/],
      [Buffer.from([0, 0, 0, 0, 1, 4, 0]), true, /truncated message indexes/],
      [Buffer.from([0, 0, 0, 0, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), true, /truncated/],
      [Buffer.from([0, 0, 0, 0, 1, 100]), true, /count 50 out of range/],
      [Buffer.from([0, 0, 0, 0, 1, 1]), true, /count -1 out of range/],
    ];
    for (const [buf, proto, why] of cases) {
      const r = readFraming(buf, proto);
      assert.equal(r.ok, false, buf.toString('hex'));
      if (!r.ok) assert.match(r.detail, why);
    }
  });
});

describe('format decoders', () => {
  test('avro: longs exact or as strings, bytes as base64, unions as their value', () => {
    const type = avro.Type.forSchema(TRADE as avro.Schema);
    const c = compileSchema({ schemaType: 'AVRO', schema: JSON.stringify(TRADE), references: [] });
    const buf = type.toBuffer({ id: 'x', qty: 42, note: 'hi', raw: Buffer.from([1, 255]) });
    assert.deepEqual(
      { ...(c.decode(buf, undefined) as object) },
      { id: 'x', qty: 42, note: 'hi', raw: 'Af8=' },
    );
    // 2^63 - 1 in Avro's zigzag varint (written by hand: avsc's own long refuses it).
    const max = Buffer.concat([
      type.toBuffer({ id: 'y', qty: 0, note: null, raw: Buffer.alloc(0) }).subarray(0, 2),
      Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
      Buffer.from([0, 0]),
    ]);
    assert.deepEqual(
      JSON.stringify(c.decode(max, undefined)),
      '{"id":"y","qty":"9223372036854775807","note":null,"raw":""}',
    );
    assert.throws(() => c.decode(buf.subarray(0, 3), undefined));
  });

  test('protobuf: the message the indexes name, proto3 JSON (int64 as string, enum names, defaults)', () => {
    const root = protobuf.parse(PROTO).root;
    const Inner = root.lookupType('t.B.Inner');
    const A = root.lookupType('t.A');
    const c = compileSchema({ schemaType: 'PROTOBUF', schema: PROTO, references: [] });
    const inner = Inner.encode(Inner.create({ big: '9007199254740993', kind: 1 })).finish();
    assert.deepEqual(c.decode(Buffer.from(inner), [1, 0]), { big: '9007199254740993', kind: 'ONE' });
    assert.deepEqual(c.decode(Buffer.from(A.encode(A.create({ a: 'z' })).finish()), [0]), { a: 'z' });
    assert.deepEqual(c.decode(Buffer.alloc(0), [1, 0]), { big: '0', kind: 'ZERO' });
    assert.throws(() => c.decode(Buffer.alloc(0), [2]), /no message at index path \[2\]/);
    assert.throws(() => c.decode(Buffer.from([0x0a, 0x05]), [0]));
  });

  test('protobuf: well-known imports resolve; other imports (references) are refused', () => {
    const withTs = `syntax = "proto3";\nimport "google/protobuf/timestamp.proto";\nmessage E { google.protobuf.Timestamp at = 1; }\n`;
    const c = compileSchema({ schemaType: 'PROTOBUF', schema: withTs, references: [] });
    assert.deepEqual(c.decode(Buffer.from([0x0a, 0x02, 0x08, 0x05]), [0]), {
      at: { seconds: '5', nanos: 0 },
    });
    assert.throws(
      () =>
        compileSchema({
          schemaType: 'PROTOBUF',
          schema: 'syntax = "proto3";\nimport "other.proto";\nmessage X {}',
          references: [],
        }),
      /not a well-known type/,
    );
    assert.throws(
      () =>
        compileSchema({
          schemaType: 'AVRO',
          schema: '"string"',
          references: [{ name: 'a', subject: 's', version: 1 }],
        }),
      /references \(s\) are not supported yet/,
    );
  });

  test('jsonschema: drafts 04 and 06 compile too', () => {
    for (const $schema of [
      'http://json-schema.org/draft-04/schema#',
      'http://json-schema.org/draft-06/schema#',
    ]) {
      const schema = JSON.stringify({
        $schema,
        type: 'object',
        properties: { n: { type: 'integer', maximum: 3 } },
      });
      const c = compileSchema({ schemaType: 'JSON', schema, references: [] });
      assert.deepEqual(c.decode(Buffer.from('{"n":3}'), undefined), { n: 3 });
      assert.throws(() => c.decode(Buffer.from('{"n":4}'), undefined), /\/n must be <= 3/);
    }
  });

  test('jsonschema: validated (draft-07 and 2020-12), mismatches say where', () => {
    for (const $schema of [
      'http://json-schema.org/draft-07/schema#',
      'https://json-schema.org/draft/2020-12/schema',
    ]) {
      const schema = JSON.stringify({
        $schema,
        $id: 'https://example.com/stock.json',
        type: 'object',
        required: ['n'],
        properties: { n: { type: 'integer' }, at: { type: 'string', format: 'date-time' } },
      });
      const c = compileSchema({ schemaType: 'JSON', schema, references: [] });
      assert.deepEqual(c.decode(Buffer.from('{"n":1}'), undefined), { n: 1 });
      assert.throws(() => c.decode(Buffer.from('{"n":"1"}'), undefined), /\/n must be integer/);
      assert.throws(
        () => c.decode(Buffer.from('{"n":1,"at":"yesterday"}'), undefined),
        /\/at must match format/,
      );
      // The same $id compiles again (a second version of the schema).
      compileSchema({ schemaType: 'JSON', schema, references: [] });
    }
  });
});

/** A registry stub: answers `/schemas/ids/{id}` from `schemas`; records what it was asked. */
async function stubRegistry(schemas: Map<number, object>) {
  const asked: Array<{ url: string; auth: string | undefined }> = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    asked.push({ url: req.url ?? '', auth: req.headers.authorization });
    const id = Number(/\/schemas\/ids\/(\d+)$/.exec(req.url ?? '')?.[1]);
    const s = schemas.get(id);
    res.writeHead(s ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(s ?? { error_code: 40403, message: 'Schema not found' }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/apis/ccompat/v7`;
  return {
    url,
    asked,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

describe('SchemaFormats', () => {
  test('fetches each id once, decodes values and keys, counts unknown ids, survives an outage for cached ids', async () => {
    const tradeType = avro.Type.forSchema(TRADE as avro.Schema);
    const reg = await stubRegistry(
      new Map<number, object>([
        [1, { schema: JSON.stringify(TRADE) }],
        [2, { schema: '"string"', schemaType: 'AVRO' }],
      ]),
    );
    let now = 1_000;
    const stream = streamSchema.parse({
      name: 'trades',
      topic: 'tr',
      mode: 'table',
      format: 'avro',
      keyFormat: 'avro',
    });
    const formats = new SchemaFormats({
      streams: [stream],
      client: new RegistryClient({ url: reg.url, username: 'u', password: 'p', ca: null, timeoutMs: 1000 }),
      logger: createLogger('silent'),
      now: () => now,
    });
    const rec = (offset: number, key: Buffer, value: Buffer | null): SourceRecord => ({
      topic: 'tr',
      partition: 0,
      offset,
      key,
      value,
      timestamp: 5,
    });
    const key = frame(2, avro.Type.forSchema('string').toBuffer('t-1'));
    const value = frame(1, tradeType.toBuffer({ id: 'a', qty: 1, note: null, raw: Buffer.alloc(0) }));
    const unknown = frame(3, Buffer.from([0]));
    const batch = [rec(0, key, value), rec(1, key, value), rec(2, key, unknown), rec(3, key, null)];
    await formats.prepare('tr', batch);
    await formats.prepare('other-topic', batch); // not a registry stream: nothing asked
    assert.deepEqual(reg.asked.map((a) => a.url).sort(), [
      '/apis/ccompat/v7/schemas/ids/1',
      '/apis/ccompat/v7/schemas/ids/2',
      '/apis/ccompat/v7/schemas/ids/3',
    ]);
    assert.equal(reg.asked[0]?.auth, `Basic ${Buffer.from('u:p').toString('base64')}`);

    const ok = decodeRecord(stream, batch[0]!, undefined, formats);
    assert.deepEqual(ok, {
      ok: true,
      record: { key: 't-1', valueJson: '{"id":"a","qty":1,"note":null,"raw":""}', createdAt: 5 },
    });
    assert.deepEqual(decodeRecord(stream, batch[3]!, undefined, formats), {
      ok: true,
      record: { key: 't-1', valueJson: null, createdAt: 5 },
    });
    const bad = decodeRecord(stream, batch[2]!, undefined, formats);
    assert.equal(!bad.ok && bad.reason, 'unknown_schema');
    const unframed = decodeRecord(stream, rec(4, key, Buffer.from('{}')), undefined, formats);
    assert.equal(!unframed.ok && unframed.reason, 'not_framed');
    const badKey = decodeRecord(stream, rec(5, Buffer.from('plain'), value), undefined, formats);
    assert.deepEqual(badKey.ok ? null : [badKey.reason, badKey.detail.slice(0, 4)], ['not_framed', 'key:']);

    // Cached ids are not asked again; the unknown one only after its retry delay.
    await formats.prepare('tr', batch);
    assert.equal(reg.asked.length, 3);
    now += 31_000;
    await formats.prepare('tr', batch);
    assert.equal(reg.asked.length, 4);

    // Outage: the cached schemas keep decoding; a new id is skipped as registry_unavailable.
    await reg.close();
    const newId = frame(4, Buffer.from([0]));
    await formats.prepare('tr', [rec(6, key, value), rec(7, key, newId)]);
    assert.equal(decodeRecord(stream, rec(6, key, value), undefined, formats).ok, true);
    const down = decodeRecord(stream, rec(7, key, newId), undefined, formats);
    assert.equal(!down.ok && down.reason, 'registry_unavailable');
    assert.match(!down.ok ? down.detail : '', /ECONNREFUSED|socket hang up/);
    assert.equal(formats.cachedSchemas, 2);
  });

  test('a schema of another format than the stream expects is undecodable; a decoder-less stream says so', async () => {
    const reg = await stubRegistry(new Map([[1, { schema: '{"type":"object"}', schemaType: 'JSON' }]]));
    try {
      const stream = streamSchema.parse({ name: 's', topic: 's', mode: 'feed', format: 'protobuf' });
      const formats = new SchemaFormats({
        streams: [stream],
        client: new RegistryClient({
          url: reg.url,
          username: null,
          password: null,
          ca: null,
          timeoutMs: 1000,
        }),
        logger: createLogger('silent'),
      });
      const r: SourceRecord = {
        topic: 's',
        partition: 0,
        offset: 0,
        key: null,
        value: frame(1, Buffer.from('{}'), [0]),
        timestamp: 1,
      };
      await formats.prepare('s', [r]);
      const d = decodeRecord(stream, r, undefined, formats);
      assert.deepEqual(d.ok ? null : [d.reason, d.detail], [
        'undecodable',
        'schema id 1 is jsonschema, the stream expects protobuf',
      ]);
      const none = decodeRecord(stream, r);
      assert.equal(!none.ok && none.detail, 'no schema registry configured');
    } finally {
      await reg.close();
    }
  });
});

describe('RegistryClient over https', () => {
  test('trusts the CA of SCHEMA_REGISTRY_CA_FILE, and refuses an unknown CA as an outage', async () => {
    const cert = await testCertificate();
    const server = createHttpsServer({ cert: cert.pem, key: readFileSync(cert.keyPath) }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      res.end(JSON.stringify({ schema: '"string"' }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const opts = { url, username: null, password: null, timeoutMs: 2000 };
      const trusted = new RegistryClient({ ...opts, ca: cert.pem });
      assert.deepEqual(await trusted.schemaById(1), {
        schemaType: 'AVRO',
        schema: '"string"',
        references: [],
      });
      const untrusted = new RegistryClient({ ...opts, ca: null });
      await assert.rejects(untrusted.schemaById(1), (err: Error) => {
        assert.ok(err instanceof RegistryUnavailableError);
        assert.match(err.message, /self[- ]signed/);
        return true;
      });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    }
  });
});
