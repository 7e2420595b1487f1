/**
 * The identity of a topic's data: `<cluster id>/<topic id>`. A topic deleted and created again
 * under the same name gets a new topic id, so its lineage changes; every instance reading the same
 * cluster computes the same string (RecordSink.lineage).
 *
 * kafkajs 2.2.4 speaks Metadata up to v6, and topic ids arrived in v10 (KIP-516, Kafka 2.8). So
 * this file sends one raw Metadata v12 request (Kafka 3.1 through 4.x) over a kafkajs
 * connection: the client's own connection setup, TLS and SASL apply, and only the request body
 * and its answer are encoded here. It reaches a kafkajs internal (the Kafka instance's private
 * cluster factory and a broker's connection pool), pinned by the kafkajs version in package.json;
 * `test/integration/kafka-records.test.ts` fails if that ever changes shape.
 */
import type { Kafka } from 'kafkajs';

/** What the broker says about one topic. */
export interface TopicIdentity {
  /** Kafka error code for the topic (0: fine; 3: UNKNOWN_TOPIC_OR_PARTITION; 29: not authorized). */
  errorCode: number;
  /** The topic id as 32 hex digits, or null when the topic does not exist. */
  topicId: string | null;
  partitions: number;
}

export interface ClusterIdentity {
  clusterId: string;
  topics: Map<string, TopicIdentity>;
}

/** The lineage string of a topic, or null when the broker knows no such topic. */
export function lineageOf(cluster: ClusterIdentity, topic: string): string | null {
  const t = cluster.topics.get(topic);
  return t?.topicId ? `${cluster.clusterId}/${t.topicId}` : null;
}

interface BrokerLike {
  connectionPool: { send(r: unknown): Promise<unknown> };
  /** What the broker answered to ApiVersions, by API key. */
  versions?: Record<number, { minVersion: number; maxVersion: number }>;
}

/** Thrown when the broker cannot answer Metadata v12 (Kafka before 3.1). */
export class NoTopicIdsError extends Error {
  readonly code = 35; // UNSUPPORTED_VERSION
  constructor(maxVersion: number) {
    super(`the broker speaks Metadata up to v${maxVersion}, topic ids are read with v12 (Kafka 3.1+)`);
    this.name = 'NoTopicIdsError';
  }
}
interface ClusterLike {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  isConnected(): boolean;
  brokerPool: { seedBroker: BrokerLike };
}

/** A long-lived reader of topic identities, on a kafkajs cluster of its own (connected lazily). */
export class TopicIdentityReader {
  private cluster: ClusterLike | null = null;

  constructor(private readonly kafka: Kafka) {}

  async read(topics: readonly string[]): Promise<ClusterIdentity> {
    const cluster = await this.connected();
    // A broker closes the connection on a version it does not know: ask what it knows first.
    const max = cluster.brokerPool.seedBroker.versions?.[3]?.maxVersion;
    if (max !== undefined && max < 12) throw new NoTopicIdsError(max);
    try {
      const answer = (await cluster.brokerPool.seedBroker.connectionPool.send({
        request: {
          apiKey: 3,
          apiVersion: 12,
          apiName: 'Metadata',
          encode: async () => {
            const body = encodeMetadataV12(topics);
            return { buf: body, buffer: body };
          },
        },
        response: { decode: async (b: Buffer) => decodeMetadataV12(b), parse: async (x: unknown) => x },
      })) as ClusterIdentity;
      return answer;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const c = this.cluster;
    this.cluster = null;
    await c?.disconnect().catch(() => {});
  }

  private async connected(): Promise<ClusterLike> {
    if (this.cluster?.isConnected()) return this.cluster;
    const create = privateClusterFactory(this.kafka);
    const cluster = create({ allowAutoTopicCreation: false });
    await cluster.connect();
    this.cluster = cluster;
    return cluster;
  }
}

function privateClusterFactory(kafka: Kafka): (o: { allowAutoTopicCreation: boolean }) => ClusterLike {
  const sym = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const fn = sym ? (kafka as unknown as Record<symbol, unknown>)[sym] : undefined;
  if (typeof fn !== 'function') throw new Error('kafkajs internals changed: no private cluster factory');
  return fn as (o: { allowAutoTopicCreation: boolean }) => ClusterLike;
}

// --- Metadata v12 (flexible version: compact strings and arrays, tagged fields) -------------------

function uvarint(n: number): Buffer {
  const out: number[] = [];
  let v = n >>> 0;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

function compactString(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([uvarint(bytes.length + 1), bytes]);
}

/**
 * The request body. kafkajs writes request header v1 (no tagged fields), so the body starts with
 * the header v2's empty tagged-field section: together they make a valid v2 header.
 */
export function encodeMetadataV12(topics: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0])]; // header tagged fields (none)
  parts.push(uvarint(topics.length + 1));
  for (const t of topics) parts.push(Buffer.alloc(16), compactString(t), Buffer.from([0])); // id, name, tags
  parts.push(Buffer.from([0, 0, 0])); // allow_auto_topic_creation, include_topic_authorized_operations, tags
  return Buffer.concat(parts);
}

class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  int8(): number {
    return this.b.readInt8(this.at++);
  }
  int16(): number {
    const v = this.b.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  int32(): number {
    const v = this.b.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  uvarint(): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      const byte = this.b[this.at++];
      if (byte === undefined) throw new Error('metadata: truncated varint');
      v |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return v >>> 0;
      shift += 7;
    }
  }
  bytes(n: number): Buffer {
    if (this.at + n > this.b.length) throw new Error('metadata: truncated');
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  compactString(): string | null {
    const n = this.uvarint();
    return n === 0 ? null : this.bytes(n - 1).toString('utf8');
  }
  compactArray<T>(item: () => T): T[] {
    const n = this.uvarint();
    const out: T[] = [];
    for (let i = 0; i < n - 1; i++) out.push(item());
    return out;
  }
  tags(): void {
    const n = this.uvarint();
    for (let i = 0; i < n; i++) {
      this.uvarint();
      this.bytes(this.uvarint());
    }
  }
}

/** Decodes a Metadata v12 response (after kafkajs took the correlation id off). */
export function decodeMetadataV12(b: Buffer): ClusterIdentity {
  const r = new Reader(b);
  r.tags(); // response header v1 tagged fields
  r.int32(); // throttle_time_ms
  r.compactArray(() => {
    r.int32();
    r.compactString();
    r.int32();
    r.compactString();
    r.tags();
  });
  const clusterId = r.compactString() ?? '';
  r.int32(); // controller_id
  const topics = new Map<string, TopicIdentity>();
  r.compactArray(() => {
    const errorCode = r.int16();
    const name = r.compactString();
    const id = r.bytes(16).toString('hex');
    r.int8(); // is_internal
    const partitions = r.compactArray(() => {
      r.int16();
      r.int32();
      r.int32();
      r.int32();
      r.compactArray(() => r.int32());
      r.compactArray(() => r.int32());
      r.compactArray(() => r.int32());
      r.tags();
    }).length;
    r.int32(); // topic_authorized_operations
    r.tags();
    if (name !== null) topics.set(name, { errorCode, topicId: /^0+$/.test(id) ? null : id, partitions });
  });
  return { clusterId, topics };
}
