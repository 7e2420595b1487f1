/**
 * The Confluent wire format, as written by Confluent's and Apicurio's Kafka serializers:
 *
 *   byte 0      magic byte, always 0
 *   bytes 1-4   schema id, big-endian int32 (the id the registry's `/schemas/ids/{id}` answers)
 *   Protobuf:   message indexes, then the message
 *   others:     the Avro binary datum, or the JSON text of a JSON Schema value
 *
 * Message indexes name which message of the .proto file was written, as a path through nested
 * messages: a zigzag varint count, then that many zigzag varint indexes. A count of 0 stands
 * for the path [0] (the first top-level message), the short form Confluent's serializer writes;
 * Apicurio writes the explicit [0]. Both are read.
 */

export const MAGIC_BYTE = 0;
export const HEADER_BYTES = 5;
/** A deeper path is not a real .proto: bounds the work a hostile record can cause. */
export const MAX_MESSAGE_INDEXES = 32;

export interface Framing {
  schemaId: number;
  /** Where the payload starts (after the header, and after the message indexes for Protobuf). */
  payloadOffset: number;
  /** Protobuf only: the message path; [0] is the first top-level message. */
  messageIndexes?: number[];
}

export type FramingResult = { ok: true; framing: Framing } | { ok: false; detail: string };

/** Reads the header (and for Protobuf the message indexes) of a framed value. Never throws. */
export function readFraming(buf: Buffer, protobuf: boolean): FramingResult {
  if (buf.length < HEADER_BYTES)
    return { ok: false, detail: `${buf.length} bytes: shorter than the 5-byte header` };
  if (buf[0] !== MAGIC_BYTE) return { ok: false, detail: `magic byte ${buf[0]}, expected 0` };
  const schemaId = buf.readInt32BE(1);
  if (schemaId < 0) return { ok: false, detail: `negative schema id ${schemaId}` };
  if (!protobuf) return { ok: true, framing: { schemaId, payloadOffset: HEADER_BYTES } };
  let pos = HEADER_BYTES;
  const count = readZigzagVarint(buf, pos);
  if (count === null) return { ok: false, detail: 'truncated message indexes' };
  pos = count.next;
  if (count.value === 0) return { ok: true, framing: { schemaId, payloadOffset: pos, messageIndexes: [0] } };
  if (count.value < 0 || count.value > MAX_MESSAGE_INDEXES)
    return { ok: false, detail: `message index count ${count.value} out of range` };
  const messageIndexes: number[] = [];
  for (let i = 0; i < count.value; i++) {
    const index = readZigzagVarint(buf, pos);
    if (index === null) return { ok: false, detail: 'truncated message indexes' };
    if (index.value < 0) return { ok: false, detail: `negative message index ${index.value}` };
    messageIndexes.push(index.value);
    pos = index.next;
  }
  return { ok: true, framing: { schemaId, payloadOffset: pos, messageIndexes } };
}

/** A zigzag-encoded varint of at most 5 bytes (an int32), or null when truncated or too long. */
function readZigzagVarint(buf: Buffer, start: number): { value: number; next: number } | null {
  let raw = 0;
  for (let i = 0; i < 5; i++) {
    const b = buf[start + i];
    if (b === undefined) return null;
    raw += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      const value = raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
      return { value, next: start + i + 1 };
    }
  }
  return null;
}

/** Writes the header (and message indexes), for tests and benchmarks: the inverse of {@link readFraming}. */
export function frame(schemaId: number, payload: Uint8Array, messageIndexes?: readonly number[]): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt8(MAGIC_BYTE, 0);
  header.writeInt32BE(schemaId, 1);
  const parts: Uint8Array[] = [header];
  if (messageIndexes !== undefined) {
    const isFirst = messageIndexes.length === 1 && messageIndexes[0] === 0;
    const values = isFirst ? [0] : [messageIndexes.length, ...messageIndexes];
    parts.push(Buffer.from(values.flatMap(zigzagVarint)));
  }
  parts.push(payload);
  return Buffer.concat(parts);
}

function zigzagVarint(n: number): number[] {
  let v = n >= 0 ? n * 2 : -n * 2 - 1;
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
