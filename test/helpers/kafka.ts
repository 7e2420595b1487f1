/**
 * Helpers for integration tests that talk to the real Kafka broker of the test run.
 *
 * `npm test` starts the broker (scripts/kafka.ts) and passes it on through the environment:
 * `KAFKA_BROKERS` (bootstrap list) and `SWITCHYARD_KAFKA_STATE` (its state dir, needed only to
 * stop and restart it). Make kafkajs clients with {@link testKafka} and call {@link closeKafkaHelpers}
 * in an `after` hook, so the test process can exit.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import kafkajs, {
  type Admin,
  type ISocketFactory,
  Kafka,
  type KafkaConfig,
  logLevel,
  Partitioners,
  type Producer,
} from 'kafkajs';
import { setScramPassword, startBroker, stopBroker } from '../../scripts/kafka.ts';
import type { BrokerSecurity } from '../../scripts/kafka-security.ts';

/** One message for {@link produce}; `timestamp` is in epoch milliseconds. */
export interface TestMessage {
  key?: string | null;
  value: string | null;
  partition?: number;
  timestamp?: number;
}

const HOW_TO_RUN = 'run the suite with `npm test`, which starts a Kafka broker and sets it';

/** A kafkajs client connected on first use and shared by all calls until {@link closeKafkaHelpers}. */
class Shared<T extends { connect(): Promise<void>; disconnect(): Promise<void> }> {
  #connecting: Promise<T> | undefined;

  constructor(private readonly make: () => T) {}

  get(): Promise<T> {
    if (this.#connecting) return this.#connecting;
    const connecting = (async () => {
      const instance = this.make();
      await instance.connect();
      return instance;
    })();
    this.#connecting = connecting;
    // A failed connect is forgotten, so the next call tries again instead of failing forever.
    connecting.catch(() => {
      if (this.#connecting === connecting) this.#connecting = undefined;
    });
    return connecting;
  }

  async close(): Promise<void> {
    const connecting = this.#connecting;
    this.#connecting = undefined;
    const instance = await connecting?.catch(() => undefined);
    await instance?.disconnect();
  }
}

// kafkajs 2.2.4: a consumer that lives through a broker restart keeps a stale group-coordinator
// connection that disconnect() never closes; it holds the test process open until the broker drops
// idle connections (10 min). Sockets of testKafka() clients are recorded so closeKafkaHelpers can end them.
const openSockets = new Set<Socket>();

const trackedSocketFactory: ISocketFactory = ({ host, port, onConnect }) => {
  const socket = connect({ host, port }, onConnect);
  socket.setKeepAlive(true, 60_000); // as kafkajs' own factory does
  openSockets.add(socket);
  socket.once('close', () => openSockets.delete(socket));
  return socket;
};

let kafka: Kafka | undefined;

/** The bootstrap brokers of the test run, from `KAFKA_BROKERS` (comma-separated). */
export function kafkaBrokers(): string[] {
  const brokers = (process.env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  if (brokers.length === 0) throw new Error(`KAFKA_BROKERS is not set: ${HOW_TO_RUN}`);
  return brokers;
}

/**
 * A kafkajs client for tests against the broker of the test run (`KAFKA_BROKERS`): silent (restarts
 * make kafkajs log expected connection errors), retrying for up to ~2 min so its clients ride out
 * {@link restartBroker} on a loaded machine (kafkajs' default gives up after ~10 s and "crashes"
 * consumers), and with sockets that {@link closeKafkaHelpers} ends. `config` overrides any of that.
 */
export function testKafka(config: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId: 'switchyard-test',
    brokers: kafkaBrokers(),
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 300, maxRetryTime: 2_000, retries: 60 },
    socketFactory: trackedSocketFactory,
    ...config,
  });
}

function client(): Kafka {
  kafka ??= testKafka({ clientId: 'switchyard-test-helpers' });
  return kafka;
}

const admin = new Shared<Admin>(() => client().admin());
// The explicit partitioner is the kafkajs 2.x default; naming it silences its v2 migration warning.
// Idempotent: a produce retried across a broker restart must not write a record twice, or tests
// asserting "no duplicate" would blame the gateway for the producer's retries.
const producer = new Shared<Producer>(() =>
  client().producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
  }),
);

function uniqueTopicName(prefix: string): string {
  const safePrefix = prefix.replace(/[^a-zA-Z0-9._-]/g, '-').slice(0, 100);
  return `${safePrefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** Polls metadata until every partition of `topic` has a leader, so the first produce cannot race it. */
async function waitForLeaders(
  a: Admin,
  topic: string,
  partitions: number,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const { topics } = await a.fetchTopicMetadata({ topics: [topic] });
      const meta = topics[0]?.partitions ?? [];
      if (meta.length === partitions && meta.every((p) => p.leader >= 0)) return;
    } catch {
      // not known to the broker yet
    }
    await sleep(100);
  }
  throw new Error(`Topic ${topic}: partition leaders not known after ${timeoutMs} ms`);
}

/**
 * Creates a fresh topic named `<prefix>-<unique suffix>` (one replica) and resolves with its name
 * once all its partition leaders are known.
 * @param opts.partitions number of partitions (default 1)
 * @param opts.compacted `cleanup.policy=compact` instead of delete
 */
export async function createTopic(
  prefix: string,
  opts: { partitions?: number; compacted?: boolean } = {},
): Promise<string> {
  const topic = uniqueTopicName(prefix);
  const partitions = opts.partitions ?? 1;
  const a = await admin.get();
  const created = await a.createTopics({
    topics: [
      {
        topic,
        numPartitions: partitions,
        replicationFactor: 1,
        configEntries: opts.compacted ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
      },
    ],
    // kafkajs' own wait gives up at once on UNKNOWN_TOPIC_OR_PARTITION, which a loaded broker
    // answers for a moment after creating the topic: waitForLeaders below retries it.
    waitForLeaders: false,
  });
  if (!created) throw new Error(`Topic ${topic} already exists`);
  await waitForLeaders(a, topic, partitions);
  return topic;
}

/**
 * Produces `messages` to `topic` in one batch with `acks=all`, through a producer shared by all
 * calls (connected on first use). A message without `partition` is placed by key, as kafkajs does.
 */
export async function produce(topic: string, messages: TestMessage[]): Promise<void> {
  const p = await producer.get();
  await p.send({
    topic,
    acks: -1,
    messages: messages.map((m) => ({
      key: m.key ?? null,
      value: m.value,
      partition: m.partition,
      timestamp: m.timestamp === undefined ? undefined : String(m.timestamp),
    })),
  });
}

/**
 * Disconnects the shared admin and producer, then ends every socket still open from a
 * {@link testKafka} client (disconnect your own clients first). Meant for an `after` hook; helpers
 * connect again if used afterwards.
 */
export async function closeKafkaHelpers(): Promise<void> {
  await Promise.all([admin.close(), producer.close()]);
  kafka = undefined;
  // With an error, so kafkajs tears the connection down itself (its socket 'error' handler runs
  // disconnect()): that also stops the connection's request-queue timer, which a bare destroy()
  // would leave re-arming itself every millisecond, keeping the process alive just the same.
  for (const socket of openSockets) socket.destroy(new Error('closed by closeKafkaHelpers()'));
  openSockets.clear();
}

function testStateDir(): string {
  const dir = process.env.SWITCHYARD_KAFKA_STATE;
  if (!dir) throw new Error(`SWITCHYARD_KAFKA_STATE is not set: ${HOW_TO_RUN}`);
  return dir;
}

/** Stops the broker of this test run (SIGTERM, clean shutdown); its data is kept. */
export async function stopTestBroker(): Promise<void> {
  await stopBroker(testStateDir());
}

/**
 * Starts the broker of this test run again, on the same port and with the same data, and resolves
 * once it answers clients. Clients created before keep working: they reconnect on their own.
 */
export async function startTestBroker(): Promise<void> {
  const info = await startBroker({ stateDir: testStateDir() });
  // The tests reach the broker through KAFKA_BROKERS: it must still point at the same listener.
  if (!kafkaBrokers().includes(info.brokers)) {
    throw new Error(
      `Restarted broker listens on ${info.brokers}, but KAFKA_BROKERS is ${process.env.KAFKA_BROKERS}`,
    );
  }
}

/**
 * Stops the broker of this test run, waits `downMs` (default 0) and starts it again with its data.
 * Shared helper clients are kept and reconnect by themselves on next use.
 */
export async function restartBroker(opts: { downMs?: number } = {}): Promise<void> {
  await stopTestBroker();
  if (opts.downMs) await sleep(opts.downMs);
  await startTestBroker();
}

// ---------------------------------------------------------------------------------------------
// The secure listeners of the test broker (scripts/kafka-security.ts): SASL_SSL, SASL_PLAINTEXT,
// mTLS SSL and an expired-certificate listener, with ACLs enforced by StandardAuthorizer.
// ---------------------------------------------------------------------------------------------

/**
 * Certificates, users and bootstrap strings of the secure listeners, from `KAFKA_SECURITY_FILE`
 * (set by `npm test`), else `<SWITCHYARD_KAFKA_STATE>/security.json`.
 */
export function brokerSecurity(): BrokerSecurity {
  const path = process.env.KAFKA_SECURITY_FILE || join(testStateDir(), 'security.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as BrokerSecurity;
  } catch (err) {
    throw new Error(
      `No secure listeners (${(err as Error).message}): ${HOW_TO_RUN}; a state dir formatted before they existed needs \`npm run kafka -- destroy\``,
    );
  }
}

const { AclOperationTypes, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;

/** What one feature of the gateway may do, as docs/kafka.md grants it. */
export interface TestGrant {
  /** Topics to Describe and Read (the streams, the rollout topic). */
  read?: readonly string[];
  /** Topics to Describe and Write (the dead-letter topic, the rollout topic when publishing). */
  write?: readonly string[];
  /** Consumer group id prefix to Read (KAFKA_GROUP_PREFIX; group ids are `<prefix>.<...>`). */
  groupPrefix?: string;
}

/**
 * Creates ALLOW ACLs for `principal` (e.g. `User:reader`) through the PLAINTEXT listener (a super
 * user), exactly the ones docs/kafka.md lists: Describe+Read per read topic, Describe+Write per
 * write topic, Read on groups with the prefix. The broker applies them within moments.
 */
export async function grantAcls(principal: string, grant: TestGrant): Promise<void> {
  const a = await admin.get();
  const acl = (
    resourceType: number,
    resourceName: string,
    operation: number,
    pattern: number = ResourcePatternTypes.LITERAL,
  ) => ({
    resourceType,
    resourceName,
    resourcePatternType: pattern,
    principal,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  });
  const acls = [
    ...(grant.read ?? []).flatMap((t) => [
      acl(AclResourceTypes.TOPIC, t, AclOperationTypes.DESCRIBE),
      acl(AclResourceTypes.TOPIC, t, AclOperationTypes.READ),
    ]),
    ...(grant.write ?? []).flatMap((t) => [
      acl(AclResourceTypes.TOPIC, t, AclOperationTypes.DESCRIBE),
      acl(AclResourceTypes.TOPIC, t, AclOperationTypes.WRITE),
    ]),
    ...(grant.groupPrefix
      ? [
          acl(
            AclResourceTypes.GROUP,
            `${grant.groupPrefix}.`,
            AclOperationTypes.READ,
            ResourcePatternTypes.PREFIXED,
          ),
        ]
      : []),
  ];
  if (acls.length > 0) await a.createAcls({ acl: acls as never });
}

/** Sets (or creates) a SCRAM user's password on the broker of this test run (kafka-configs). */
export async function setTestScramPassword(user: string, password: string): Promise<void> {
  await setScramPassword(testStateDir(), user, password);
}
