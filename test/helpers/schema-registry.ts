/**
 * Helpers for tests against the real Schema Registry of the test run (Apicurio Registry, started
 * by scripts/test.sh through scripts/schema-registry.ts): its URL (`SWITCHYARD_SCHEMA_REGISTRY_URL`),
 * registering schemas through its Confluent-compatible API, stopping and starting it, and a
 * producer using **Apicurio's own Kafka serializers** (test/helpers/java/RegistryProducer.java,
 * compiled on first use against the serde jars fetched from Maven Central): records written by
 * code nobody on this project wrote.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { cacheRoot } from '../../scripts/lib/maven-cache.ts';
import { runCommand } from '../../scripts/lib/run-command.ts';
import { startRegistry, stopRegistry } from '../../scripts/schema-registry.ts';
import { compileJava } from './java-producer.ts';
import { kafkaBrokers } from './kafka.ts';

const execFileAsync = promisify(execFile);
const SOURCE = join(dirname(fileURLToPath(import.meta.url)), 'java', 'RegistryProducer.java');
/** The serdes of the newest Apicurio line whose jars all resolve from Maven Central here. */
export const APICURIO_SERDES_VERSION = '3.1.7';
const HOW_TO_RUN = 'run the suite with `npm test`, which starts a Schema Registry and sets it';

/** The ccompat URL of the test run's registry. */
export function registryUrl(): string {
  const url = process.env.SWITCHYARD_SCHEMA_REGISTRY_URL;
  if (!url) throw new Error(`SWITCHYARD_SCHEMA_REGISTRY_URL is not set: ${HOW_TO_RUN}`);
  return url;
}

function registryState(): string {
  const dir = process.env.SWITCHYARD_SCHEMA_REGISTRY_STATE;
  if (!dir) throw new Error(`SWITCHYARD_SCHEMA_REGISTRY_STATE is not set: ${HOW_TO_RUN}`);
  return dir;
}

/** Stops the registry of the test run (its in-memory schemas are lost). */
export async function stopTestRegistry(): Promise<void> {
  await stopRegistry(registryState());
}

/** Starts it again on the same port, empty; resolves once it answers. */
export async function startTestRegistry(): Promise<void> {
  const dir = registryState();
  const info = await startRegistry({ stateDir: dir });
  if (info.url !== registryUrl()) throw new Error(`registry came back at ${info.url}, not ${registryUrl()}`);
}

/**
 * Registers `schema` under `subject` through the Confluent-compatible API; resolves with the id
 * it is known by (the id the serializers put in the framing).
 */
export async function registerSchema(
  subject: string,
  schema: string,
  schemaType: 'AVRO' | 'PROTOBUF' | 'JSON',
): Promise<number> {
  const res = await fetch(`${registryUrl()}/subjects/${encodeURIComponent(subject)}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify(schemaType === 'AVRO' ? { schema } : { schema, schemaType }),
  });
  const body = await res.text();
  if (!res.ok) throw new Error(`registering ${subject}: HTTP ${res.status} ${body}`);
  return (JSON.parse(body) as { id: number }).id;
}

/** One `send` of a {@link produceWithApicurio} job: records written by Apicurio's serializers. */
export interface RegistrySend {
  topic: string;
  format: 'avro' | 'protobuf' | 'jsonschema';
  /** The latest version of `<topic>-value` must be this schema (register it first). */
  schema: string;
  /** Protobuf: which message of the schema the values are. */
  messageName?: string;
  keyFormat?: 'string' | 'avro' | 'protobuf' | 'jsonschema';
  keySchema?: string;
  keyMessageName?: string;
  /** Values (and registry-format keys) as JSON: Avro's JSON encoding, proto3 JSON, plain JSON. */
  records: ReadonlyArray<{ key: unknown; value: unknown }>;
}

/** The Apicurio serde jars (and kafka-clients) from Maven Central, cached; returns the lib dir. */
async function serdeJars(): Promise<string> {
  const deps: Array<[string, string, string]> = [
    ...['avro', 'protobuf', 'jsonschema'].map((f): [string, string, string] => [
      'io.apicurio',
      `apicurio-registry-${f}-serde-kafka`,
      APICURIO_SERDES_VERSION,
    ]),
    // Maven's nearest-wins picks kotlin-stdlib 2.0 for the Protobuf schema loader, whose okio 3.16
    // needs 2.2 (NoClassDefFoundError kotlin/coroutines/jvm/internal/SpillingKt): pinned.
    ['org.jetbrains.kotlin', 'kotlin-stdlib', '2.2.20'],
  ];
  const pomXml = `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion><groupId>switchyard.local</groupId><artifactId>apicurio-serdes</artifactId><version>1</version><packaging>pom</packaging><dependencies>${deps
    .map(
      ([g, a, v]) =>
        `<dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`,
    )
    .join('')}</dependencies></project>\n`;
  const recipe = createHash('sha256').update(pomXml).digest('hex').slice(0, 12);
  const dir = join(cacheRoot(), 'apicurio-serdes', `${APICURIO_SERDES_VERSION}-${recipe}`);
  const lib = join(dir, 'lib');
  if (existsSync(join(dir, '.complete'))) return lib;
  await mkdir(dir, { recursive: true });
  const pom = join(dir, 'pom.xml');
  await writeFile(pom, pomXml);
  const partial = join(dir, `lib.partial-${process.pid}`);
  await rm(partial, { recursive: true, force: true });
  await runCommand('mvn', [
    '-B',
    '-q',
    '-f',
    pom,
    'org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies',
    '-DincludeScope=runtime',
    `-DoutputDirectory=${partial}`,
  ]);
  await rm(lib, { recursive: true, force: true });
  await rename(partial, lib);
  await writeFile(join(dir, '.complete'), `${new Date().toISOString()}\n`);
  return lib;
}

/** Compiles RegistryProducer.java against the serde jars (once per source version). */
function compiled(lib: string): Promise<string> {
  return compileJava(SOURCE, lib, 'producer');
}

/**
 * Runs the sends with Apicurio's serializers (one JVM for all of them); resolves with each
 * record's partition and offset, in order.
 */
export async function produceWithApicurio(
  sends: readonly RegistrySend[],
): Promise<Array<{ partition: number; offset: number }>> {
  const lib = await serdeJars();
  const classes = await compiled(lib);
  const work = await mkdtemp(join(tmpdir(), 'registry-producer-'));
  try {
    const jobFile = join(work, 'job.json');
    const coreApi = registryUrl().replace(/\/apis\/ccompat\/v7\/?$/, '/apis/registry/v3');
    await writeFile(
      jobFile,
      JSON.stringify({ brokers: kafkaBrokers().join(','), registryUrl: coreApi, sends }),
    );
    const { stdout } = await execFileAsync(
      'java',
      ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-cp', `${lib}/*:${classes}`, 'RegistryProducer', jobFile],
      { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 },
    ).catch((err: Error & { stderr?: string }) => {
      throw new Error(`RegistryProducer failed: ${err.message}\n${(err.stderr ?? '').slice(-4000)}`);
    });
    return stdout
      .trim()
      .split('\n')
      .filter((l) => /^\d+ \d+$/.test(l))
      .map((l) => {
        const [partition, offset] = l.split(' ').map(Number);
        return { partition: partition ?? -1, offset: offset ?? -1 };
      });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
