/**
 * A real single-node Apache Kafka broker (KRaft) for tests, CI and local demos, without Docker.
 *
 * The broker jars come from Maven Central through `mvn` and are cached per version; the broker
 * runs as a detached `java` process whose whole state (config, data, log, pid) lives in one
 * directory, so it can be stopped and started again with its data, and removed in one go.
 *
 * CLI: `node --import tsx scripts/kafka.ts <start|stop|restart|destroy|status> [--state DIR] [--version V]`
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import {
  type BrokerSecurity,
  createBrokerSecurity,
  scramFormatArgs,
  secureServerProperties,
} from './kafka-security.ts';
import { isOwnProcess, spawnDetached, stopProcessGroup, waitForStartup } from './lib/detached-process.ts';
import { cacheRoot, fillOnce, MAVEN_DEPENDENCY_PLUGIN, runMaven } from './lib/maven-cache.ts';
import { runCommand, tailLines } from './lib/run-command.ts';
import { type ProgressLog, runWhenInvoked, serviceMain } from './lib/service-cli.ts';

/** Broker version used when neither `version` nor `KAFKA_VERSION` says otherwise. */
export const DEFAULT_KAFKA_VERSION = '3.9.1';

/** Where and how a started broker can be reached; also stored as `<stateDir>/broker.json`. */
export interface BrokerInfo {
  /** Bootstrap string for clients, e.g. `127.0.0.1:41234`. */
  brokers: string;
  port: number;
  controllerPort: number;
  /** Pid of the `java` process, which also leads its own process group. */
  pid: number;
  stateDir: string;
  version: string;
  logFile: string;
  /** The secure listeners (SASL_SSL, SASL_PLAINTEXT, mTLS SSL, expired TLS) and their credentials. */
  security?: BrokerSecurity;
}

/** What stays fixed across restarts of one state dir; written once the storage is formatted. */
interface ClusterState {
  version: string;
  port: number;
  controllerPort: number;
  clusterId: string;
  /** Absent in state dirs formatted before the secure listeners existed (they run PLAINTEXT only). */
  security?: BrokerSecurity;
  storePassword?: string;
}

const LOG4J2_VERSION = '2.24.3';
// The stock defaults (1 GiB heap, G1) are sized for servers, not a 2-core test box.
const JVM_OPTS = ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-Djava.net.preferIPv4Stack=true'];
const STARTED_MARKER = 'Kafka Server started';
const START_TIMEOUT_MS = 120_000;
const LOG_TAIL_LINES = 30;
const noop: ProgressLog = () => {};

// ---------------------------------------------------------------------------------------------
// Versions and jars
// ---------------------------------------------------------------------------------------------

/** Parses `major.minor.patch[-qualifier]`; the check also keeps the version safe to put in a pom. */
function parseVersion(version: string): { major: number; minor: number } {
  const match = /^(\d+)\.(\d+)\.\d+(?:-[A-Za-z0-9.]+)?$/.exec(version);
  if (!match) throw new Error(`Invalid Kafka version "${version}" (expected e.g. 3.9.1)`);
  const major = Number(match[1]);
  const minor = Number(match[2]);
  // Single-node KRaft with `StorageTool format` as used here needs 3.3 or newer.
  if (major < 3 || (major === 3 && minor < 3)) throw new Error(`Kafka ${version} is too old: need 3.3+`);
  return { major, minor };
}

/** Kafka 4 switched its logging from log4j 1 (reload4j) to log4j 2. */
function usesLog4j2(version: string): boolean {
  return parseVersion(version).major >= 4;
}

/** The logging backend is not in Kafka's POM, and which one it wants depends on the version. */
function loggingDependencies(version: string): Array<[group: string, artifact: string, version: string]> {
  const { major, minor } = parseVersion(version);
  if (major < 4) {
    return [
      ['org.slf4j', 'slf4j-reload4j', '1.7.36'],
      ['ch.qos.reload4j', 'reload4j', '1.2.25'],
    ];
  }
  // Kafka still logs through slf4j 1.7, hence log4j-slf4j-impl rather than log4j-slf4j2-impl.
  const bridge: [string, string, string] = ['org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J2_VERSION];
  if (major === 4 && minor === 0) {
    return [
      ['org.apache.logging.log4j', 'log4j-api', LOG4J2_VERSION],
      ['org.apache.logging.log4j', 'log4j-core', LOG4J2_VERSION],
      bridge,
    ];
  }
  return [bridge]; // 4.1+ brings log4j-api and log4j-core through its own POM.
}

function pomXml(version: string): string {
  const deps: Array<[string, string, string]> = [
    ['org.apache.kafka', 'kafka_2.13', version],
    ...loggingDependencies(version),
  ];
  const depXml = deps
    .map(
      ([g, a, v]) =>
        `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`,
    )
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>switchyard.local</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${depXml}
  </dependencies>
</project>
`;
}

/**
 * Returns a directory holding every jar the broker of `version` needs, downloading them with
 * Maven on first use. Cached under `$SWITCHYARD_CACHE_DIR` (default
 * `$XDG_CACHE_HOME/switchyard`, else `~/.cache/switchyard`) in `kafka/<version>/lib`; later
 * calls return at once. An interrupted download is redone, as the completion marker is written last.
 * @param version Kafka version, e.g. `3.9.1` or `4.1.2` (picks the matching logging backend)
 * @param log receives progress messages (silent by default)
 * @throws if the version is malformed or Maven fails (the message carries Maven's output)
 */
export async function ensureKafkaJars(version: string, log: ProgressLog = noop): Promise<string> {
  parseVersion(version); // before the version becomes part of a path
  const dir = join(cacheRoot(), 'kafka', version);
  return fillOnce(dir, 'lib', async (partial) => {
    const pom = join(dir, 'pom.xml');
    await writeFile(pom, pomXml(version));
    log(`Fetching Kafka ${version} jars with Maven into ${dir} (first use of this version)...`);
    const started = Date.now();
    await runMaven([
      '-f',
      pom,
      `${MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies`,
      '-DincludeScope=runtime',
      `-DoutputDirectory=${partial}`,
    ]);
    log(`Fetched ${readdirSync(partial).length} jars in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}

// ---------------------------------------------------------------------------------------------
// State dir layout and config files
// ---------------------------------------------------------------------------------------------

function statePaths(stateDir: string) {
  return {
    cluster: join(stateDir, 'cluster.json'),
    info: join(stateDir, 'broker.json'),
    props: join(stateDir, 'server.properties'),
    log4j: join(stateDir, 'log4j.properties'),
    log4j2: join(stateDir, 'log4j2.properties'),
    data: join(stateDir, 'data'),
    log: join(stateDir, 'broker.log'),
    security: join(stateDir, 'security.json'),
  };
}

function serverProperties(state: ClusterState, stateDir: string): string {
  const { port, controllerPort } = state;
  const dataDir = statePaths(stateDir).data;
  const secure =
    state.security && state.storePassword
      ? secureServerProperties(state.security, state.storePassword, stateDir)
      : { listeners: [], protocolMap: [], lines: [] };
  const advertised = [`PLAINTEXT://127.0.0.1:${port}`, ...secure.listeners];
  return `${[
    'process.roles=broker,controller',
    'node.id=1',
    // A static voter set (not --standalone) lets the same format command work on 3.9 and 4.x.
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=${[...advertised, `CONTROLLER://127.0.0.1:${controllerPort}`].join(',')}`,
    `advertised.listeners=${advertised.join(',')}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    `listener.security.protocol.map=${['CONTROLLER:PLAINTEXT', 'PLAINTEXT:PLAINTEXT', ...secure.protocolMap].join(',')}`,
    `log.dirs=${dataDir}`,
    // One replica and one partition for the internal topics, and no join delay, so the first
    // consumer group comes up fast on a single node.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=1',
    'group.initial.rebalance.delay.ms=0',
    'num.network.threads=2',
    'num.io.threads=2',
    // The default 128 MiB dedupe buffer would take a quarter of the small heap.
    'log.cleaner.dedupe.buffer.size=16777216',
    ...secure.lines,
  ].join('\n')}\n`;
}

const LOG4J_PROPERTIES = `log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
`;

// shutdownHook = disable: with the hook, every Kafka 4 shutdown logs a spurious "Unable to register Log4j
// shutdown hook" warning (the Console appender flushes each line, so nothing is lost).
const LOG4J2_PROPERTIES = `status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.out.ref = OUT
logger.raft.name = kafka.server.KafkaRaftServer
logger.raft.level = INFO
`;

/** JVM flag pointing the broker's logging at our config; the INFO line of KafkaRaftServer is the readiness signal. */
function loggingFlag(stateDir: string, version: string): string {
  const paths = statePaths(stateDir);
  return usesLog4j2(version)
    ? `-Dlog4j2.configurationFile=${paths.log4j2}`
    : `-Dlog4j.configuration=file:${paths.log4j}`;
}

/** Rewritten on every start, so config changes in this script reach existing state dirs. */
async function writeConfigFiles(stateDir: string, state: ClusterState): Promise<void> {
  const paths = statePaths(stateDir);
  await writeFile(paths.props, serverProperties(state, stateDir));
  if (usesLog4j2(state.version)) await writeFile(paths.log4j2, LOG4J2_PROPERTIES);
  else await writeFile(paths.log4j, LOG4J_PROPERTIES);
}

function classpath(lib: string): string {
  return `${lib}/*`;
}

// ---------------------------------------------------------------------------------------------
// First start: ports, cluster id, storage format
// ---------------------------------------------------------------------------------------------

/** Asks the OS for `count` distinct free loopback ports (all held open at once so they differ). */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((done, fail) => {
        server.once('error', fail);
        server.listen(0, '127.0.0.1', done);
      });
    }
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  }
}

/** Kafka's Uuid format: 16 random bytes, base64url without padding (22 chars). */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    // Kafka's own generator skips ids starting with '-': the CLI would read them as a flag.
    if (!id.startsWith('-')) return id;
  }
}

function readClusterState(stateDir: string): ClusterState | undefined {
  const path = statePaths(stateDir).cluster;
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as ClusterState;
}

/** Creates config and formats storage; cluster.json is written last, marking the dir as formatted. */
async function initState(
  stateDir: string,
  version: string,
  lib: string,
  log: ProgressLog,
): Promise<ClusterState> {
  const paths = statePaths(stateDir);
  await mkdir(stateDir, { recursive: true });
  const [port, controllerPort, saslSsl, saslPlaintext, ssl, expired] = await freePorts(6);
  if (
    port === undefined ||
    controllerPort === undefined ||
    saslSsl === undefined ||
    saslPlaintext === undefined ||
    ssl === undefined ||
    expired === undefined
  )
    throw new Error('could not pick free ports');
  log('Making the test CA, broker and client certificates (openssl)');
  const { security, storePassword } = await createBrokerSecurity(stateDir, {
    saslSsl,
    saslPlaintext,
    ssl,
    expired,
  });
  const state: ClusterState = {
    version,
    port,
    controllerPort,
    clusterId: newClusterId(),
    security,
    storePassword,
  };
  await writeConfigFiles(stateDir, state);
  await rm(paths.data, { recursive: true, force: true }); // left over from an interrupted init
  log(`Formatting Kafka ${version} storage in ${paths.data} (cluster id ${state.clusterId})`);
  await runCommand('java', [
    loggingFlag(stateDir, version),
    '-cp',
    classpath(lib),
    'kafka.tools.StorageTool',
    'format',
    '-t',
    state.clusterId,
    '-c',
    paths.props,
    ...scramFormatArgs(security),
  ]);
  await writeFile(paths.security, `${JSON.stringify(security, null, 2)}\n`);
  await writeFile(paths.cluster, `${JSON.stringify(state, null, 2)}\n`);
  return state;
}

// ---------------------------------------------------------------------------------------------
// Running, waiting, stopping
// ---------------------------------------------------------------------------------------------

/** Whether the broker recorded in `info` is still running (its command line names its server.properties). */
function isBrokerAlive(info: BrokerInfo): boolean {
  return isOwnProcess(info.pid, statePaths(info.stateDir).props);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

function readLogSince(logFile: string, offset: number): string {
  try {
    return readFileSync(logFile).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/** The innermost "Caused by" (else the first ERROR line) of this start: the cause without the stack trace. */
function rootCause(logFile: string, offset: number): string | undefined {
  const lines = readLogSince(logFile, offset).split('\n');
  const causes = lines.filter((l) => l.startsWith('Caused by: '));
  return causes.at(-1) ?? lines.find((l) => / (ERROR|FATAL) /.test(l));
}

function startupFailure(summary: string, logFile: string, offset: number): Error {
  const cause = rootCause(logFile, offset);
  const tail = tailLines(readLogSince(logFile, 0), LOG_TAIL_LINES);
  return new Error(
    `${summary}${cause ? `\n  cause: ${cause}` : ''}\n--- last ${LOG_TAIL_LINES} lines of ${logFile} ---\n${tail}`,
  );
}

/** One admin round trip; retries are ours (the wait loop), so kafkajs must not retry or log. */
async function describeCluster(brokers: string): Promise<void> {
  const kafka = new Kafka({
    clientId: 'switchyard-kafka-script',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 2_000,
    requestTimeout: 5_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Waits for the broker's own "started" log line (written after this start's `offset`) and then for
 * a client round trip, since the log line alone can precede the listener answering metadata.
 */
async function waitUntilReady(
  info: BrokerInfo,
  offset: number,
  exited: () => string | undefined,
): Promise<void> {
  let sawStarted = false;
  let lastError = 'no "Kafka Server started" line in the log yet';
  await waitForStartup({
    timeoutMs: START_TIMEOUT_MS,
    intervalMs: 250,
    exited,
    ready: async () => {
      sawStarted ||= readLogSince(info.logFile, offset).includes(STARTED_MARKER);
      if (!sawStarted) return false;
      try {
        await describeCluster(info.brokers);
        return true;
      } catch (error) {
        lastError = `describeCluster failed: ${(error as Error).message}`;
        return false;
      }
    },
    failure: ({ exit }) =>
      startupFailure(
        exit !== undefined
          ? `Kafka broker exited during startup (${exit})`
          : `Kafka broker not ready after ${START_TIMEOUT_MS / 1000} s (${lastError})`,
        info.logFile,
        offset,
      ),
  });
}

/** Spawns the broker in its own process group so it outlives this process and is stopped as a unit. */
async function launch(
  stateDir: string,
  state: ClusterState,
  lib: string,
  log: ProgressLog,
): Promise<BrokerInfo> {
  const paths = statePaths(stateDir);
  await writeConfigFiles(stateDir, state);
  const offset = fileSize(paths.log); // the log is appended to across restarts
  const args = [
    ...JVM_OPTS,
    loggingFlag(stateDir, state.version),
    '-cp',
    classpath(lib),
    'kafka.Kafka',
    paths.props,
  ];
  const child = await spawnDetached('the Kafka broker', 'java', args, { cwd: stateDir, logFile: paths.log });

  const info: BrokerInfo = {
    brokers: `127.0.0.1:${state.port}`,
    port: state.port,
    controllerPort: state.controllerPort,
    pid: child.pid,
    stateDir,
    version: state.version,
    logFile: paths.log,
    security: state.security,
  };
  // Recorded before waiting, so `stop` can clean up a broker that hangs during startup.
  await writeFile(paths.info, `${JSON.stringify(info, null, 2)}\n`);
  log(`Started Kafka ${state.version} (pid ${child.pid}) on ${info.brokers}; waiting until ready...`);
  try {
    await waitUntilReady(info, offset, child.exited);
  } catch (error) {
    await stopBroker(stateDir);
    throw error;
  }
  return info;
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** Reads `<stateDir>/broker.json`, written by the last start; `undefined` if there is none. */
export function readBrokerInfo(stateDir: string): BrokerInfo | undefined {
  const path = statePaths(resolve(stateDir)).info;
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as BrokerInfo;
}

/** Whether the broker of `stateDir` is running now. */
export function isBrokerRunning(stateDir: string): boolean {
  const info = readBrokerInfo(stateDir);
  return info !== undefined && isBrokerAlive(info);
}

/**
 * Starts the broker kept in `stateDir` and resolves once clients can use it.
 *
 * A fresh dir gets two free loopback ports, config files and newly formatted storage. A dir that
 * already holds a formatted broker is restarted on the same ports with its data. If the broker
 * is already running, its info is returned once it answers clients. The version is `opts.version`, else
 * `KAFKA_VERSION`, else {@link DEFAULT_KAFKA_VERSION}; an existing dir keeps the version it
 * was formatted with, and asking for another one is an error.
 *
 * @throws if the jars cannot be fetched, or the broker exits or is not ready within 120 s
 *   (the message includes the last 30 log lines; the broker is stopped).
 */
export async function startBroker(opts: {
  stateDir: string;
  version?: string;
  log?: ProgressLog;
}): Promise<BrokerInfo> {
  const stateDir = resolve(opts.stateDir);
  const log = opts.log ?? noop;
  const requested = opts.version || process.env.KAFKA_VERSION || undefined;
  const existing = readClusterState(stateDir);
  if (existing && requested && requested !== existing.version) {
    throw new Error(
      `${stateDir} holds a Kafka ${existing.version} broker, not ${requested}: use that version or destroy the state dir`,
    );
  }
  const version = existing?.version ?? requested ?? DEFAULT_KAFKA_VERSION;
  parseVersion(version);

  const current = readBrokerInfo(stateDir);
  if (current && isBrokerAlive(current)) {
    log(`Kafka ${current.version} already running (pid ${current.pid}) on ${current.brokers}`);
    // It may have been launched a moment ago by another process that is still waiting for it.
    await waitUntilReady(current, 0, () => undefined);
    return current;
  }
  const lib = await ensureKafkaJars(version, log);
  let state = existing;
  if (state) log(`Reusing ${stateDir}: ports ${state.port}/${state.controllerPort}, data kept`);
  else state = await initState(stateDir, version, lib, log);
  return launch(stateDir, state, lib, log);
}

/**
 * Stops the broker of `stateDir`: SIGTERM to its process group (a clean shutdown), SIGKILL after
 * 10 s. Data is kept. Does nothing if the broker is not running.
 */
export async function stopBroker(stateDir: string): Promise<void> {
  const info = readBrokerInfo(stateDir);
  if (info) await stopProcessGroup('Kafka broker', info.pid, () => isBrokerAlive(info));
}

/**
 * Sets a SCRAM user's password on the running broker of `stateDir` (AlterUserScramCredentials,
 * through Kafka's own `kafka-configs` class over PLAINTEXT, since kafkajs lacks that API).
 * Connections already logged in stay so until they re-authenticate.
 */
export async function setScramPassword(
  stateDir: string,
  user: string,
  password: string,
  mechanisms: readonly string[] = ['SCRAM-SHA-512'],
): Promise<void> {
  const info = readBrokerInfo(stateDir);
  if (!info || !isBrokerAlive(info)) throw new Error(`no Kafka broker running in ${stateDir}`);
  const lib = await ensureKafkaJars(info.version);
  // The broker takes one credential change per user and request: one run per mechanism.
  for (const mechanism of mechanisms) {
    const args = (mainClass: string) => [
      '-Xmx128m',
      loggingFlag(resolve(stateDir), info.version),
      '-cp',
      classpath(lib),
      mainClass,
      '--bootstrap-server',
      info.brokers,
      '--alter',
      '--add-config',
      `${mechanism}=[iterations=4096,password=${password}]`,
      '--entity-type',
      'users',
      '--entity-name',
      user,
    ];
    try {
      await runCommand('java', args('kafka.admin.ConfigCommand'));
    } catch (error) {
      // Newer releases may have moved it to the tools module (not yet run against 4.x).
      if (!/Could not find or load main class/.test((error as Error).message)) throw error;
      await runCommand('java', args('org.apache.kafka.tools.ConfigCommand'));
    }
  }
}

/** Stops the broker and removes `stateDir` with all its data. */
export async function destroyBroker(stateDir: string): Promise<void> {
  const dir = resolve(stateDir);
  await stopBroker(dir);
  if (!existsSync(dir)) return;
  // A typo in --state must not wipe an unrelated directory: only remove what looks like ours.
  const paths = statePaths(dir);
  const ours =
    [paths.cluster, paths.info, paths.props].some((p) => existsSync(p)) || readdirSync(dir).length === 0;
  if (!ours) throw new Error(`Refusing to remove ${dir}: it does not look like a Kafka state dir`);
  await rm(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

const USAGE = `Usage: node --import tsx scripts/kafka.ts <start|stop|restart|destroy|status> [--state DIR] [--version V]

  start    start (or restart with its data) the broker in DIR; prints NAME=value lines for the
           secure listeners, the last one KAFKA_BROKERS=host:port (PLAINTEXT)
  stop     stop the broker, keeping its data
  restart  stop, then start again on the same ports with the same data
  destroy  stop the broker and remove DIR
  status   print the broker info as JSON; exit code 0 if running, 3 if not

  --state DIR    state directory (default: .kafka-state in the working directory)
  --version V    Kafka version for a new state dir (default: $KAFKA_VERSION or ${DEFAULT_KAFKA_VERSION})
`;

/**
 * What `start` prints, one `NAME=value` a line, KAFKA_BROKERS (PLAINTEXT) last: the secure
 * listeners' bootstrap strings and the file holding their certificates and users.
 */
export function envLines(info: BrokerInfo): string[] {
  const s = info.security;
  const secure = s
    ? [
        `KAFKA_SASL_SSL_BROKERS=${s.saslSslBrokers}`,
        `KAFKA_SASL_PLAINTEXT_BROKERS=${s.saslPlaintextBrokers}`,
        `KAFKA_SSL_BROKERS=${s.sslBrokers}`,
        `KAFKA_SECURITY_FILE=${statePaths(info.stateDir).security}`,
      ]
    : [];
  return [...secure, `KAFKA_BROKERS=${info.brokers}`];
}
const stderrLog: ProgressLog = (message) => process.stderr.write(`[kafka] ${message}\n`);

async function cliStart(stateDir: string, version: string | undefined): Promise<number> {
  const started = Date.now();
  const info = await startBroker({ stateDir, version, log: stderrLog });
  stderrLog(`Ready in ${((Date.now() - started) / 1000).toFixed(1)} s (log: ${info.logFile})`);
  process.stdout.write(envLines(info).join('\n').concat('\n'));
  return 0;
}

const main = serviceMain({
  usage: USAGE,
  // The working directory, not this file's: installed, this file lives in node_modules.
  defaultStateDir: '.kafka-state',
  log: stderrLog,
  start: cliStart,
  stop: stopBroker,
  stoppedMessage: (stateDir) => `Stopped (data kept in ${stateDir})`,
  destroy: destroyBroker,
  status: (stateDir) => {
    const info = readBrokerInfo(stateDir);
    return { running: info !== undefined && isBrokerAlive(info), info };
  },
});

runWhenInvoked(import.meta.url, 'kafka', main);
