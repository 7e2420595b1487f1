/**
 * A real Schema Registry for tests and local demos, without Docker: Apicurio Registry, whose
 * Confluent-compatible API lives under `/apis/ccompat/v7`.
 *
 * Apicurio publishes its registry on Maven Central as a ready-built Quarkus application
 * (`io.apicurio:apicurio-registry-app:<v>:tar.gz:all`, the same fast-jar the project's container
 * images carry). It is fetched with `mvn` once per version, unpacked under the cache dir and run
 * as a detached `java` process with in-memory (H2) storage, listening on loopback only. Its state
 * (pid, port, log) lives in one directory. Apicurio 3.x is compiled for Java 21: the script looks
 * for a JDK 21+ (see {@link findJava21}).
 *
 * Why not build the app with the Quarkus Maven plugin: the POMs it needs are not all served by
 * the registry this project may use (docs/schema-registry.md, "The registry in tests").
 *
 * CLI: `node --import tsx scripts/schema-registry.ts <start|stop|restart|destroy|status> [--state DIR]`
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './kafka.ts';
import { isOwnProcess, spawnDetached, stopProcessGroup, waitForStartup } from './lib/detached-process.ts';
import { cacheRoot, fillOnce, MAVEN_DEPENDENCY_PLUGIN, runMaven } from './lib/maven-cache.ts';
import { runCommand, tailLines } from './lib/run-command.ts';
import { type ProgressLog, runWhenInvoked, serviceMain } from './lib/service-cli.ts';

/** Apicurio Registry release used unless `APICURIO_VERSION` says otherwise. */
export const DEFAULT_APICURIO_VERSION = '3.3.3';
/** Path of the Confluent-compatible API on an Apicurio Registry. */
export const CCOMPAT_PATH = '/apis/ccompat/v7';

/** Where and how a started registry can be reached; also stored as `<stateDir>/registry.json`. */
export interface RegistryInfo {
  /** Base URL of the Confluent-compatible API, e.g. `http://127.0.0.1:41234/apis/ccompat/v7`. */
  url: string;
  port: number;
  managementPort: number;
  /** Pid of the `java` process, which also leads its own process group. */
  pid: number;
  stateDir: string;
  version: string;
  logFile: string;
}

// Small heap and serial GC for a 2-core test box; C1 only: the registry serves a few hundred
// requests per test run, so peak JIT would only slow its start.
const JVM_OPTS = [
  '-Xms64m',
  '-Xmx384m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  '-Djava.net.preferIPv4Stack=true',
];
const START_TIMEOUT_MS = 180_000;
const LOG_TAIL_LINES = 30;
const noop: ProgressLog = () => {};

function checkVersion(version: string): void {
  // Also keeps the version safe inside a path and a Maven coordinate.
  if (!/^\d+\.\d+\.\d+(?:\.Final)?$/.test(version))
    throw new Error(
      `Invalid Apicurio Registry version "${version}" (expected e.g. ${DEFAULT_APICURIO_VERSION})`,
    );
  if (Number(version.split('.')[0]) < 3)
    throw new Error(`Apicurio Registry ${version}: need 3.x (2.x lays out its config differently)`);
}

/**
 * Returns the directory of the unpacked registry (`quarkus-run.jar` and its `lib/`), fetching it
 * with Maven on first use. Cached under `<cache>/apicurio-registry/<version>/app` (same cache root
 * as scripts/kafka.ts); an interrupted fetch is redone, as the completion marker is written last.
 */
export async function ensureRegistryApp(version: string, log: ProgressLog = noop): Promise<string> {
  checkVersion(version);
  const dir = join(cacheRoot(), 'apicurio-registry', version);
  return fillOnce(dir, 'app', async (partial) => {
    log(`Fetching Apicurio Registry ${version} with Maven into ${dir} (first use of this version)...`);
    const started = Date.now();
    await runMaven([
      `${MAVEN_DEPENDENCY_PLUGIN}:copy`,
      `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`,
      `-DoutputDirectory=${partial}`,
    ]);
    const archive = join(partial, `apicurio-registry-app-${version}-all.tar.gz`);
    await runCommand('tar', ['-xzf', archive, '-C', partial]).catch((error: Error) => {
      throw new Error(`unpacking ${archive} failed: ${error.message}`);
    });
    await rm(archive, { force: true });
    if (!existsSync(join(partial, 'quarkus-run.jar')))
      throw new Error(`${archive} holds no quarkus-run.jar: not a Quarkus fast-jar distribution`);
    log(`Fetched and unpacked in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}

/** The major version a JDK's `release` file states (`JAVA_VERSION="25.0.3"`), or 0. */
function jdkMajor(home: string): number {
  try {
    const m = /^JAVA_VERSION="(\d+)/m.exec(readFileSync(join(home, 'release'), 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * A `java` binary of release 21 or newer: `SWITCHYARD_JAVA21_HOME`, else `JAVA_HOME`, else the
 * newest JDK under /usr/lib/jvm (the machines here carry Temurin 25 next to the default OpenJDK 17).
 * @throws naming what was looked at, if there is none
 */
export function findJava21(): string {
  const candidates = [process.env.SWITCHYARD_JAVA21_HOME, process.env.JAVA_HOME].filter(
    (h): h is string => typeof h === 'string' && h !== '',
  );
  for (const home of candidates) if (jdkMajor(home) >= 21) return join(home, 'bin', 'java');
  let best: { home: string; major: number } | null = null;
  const root = '/usr/lib/jvm';
  for (const name of existsSync(root) ? readdirSync(root) : []) {
    const home = join(root, name);
    const major = jdkMajor(home);
    if (major >= 21 && existsSync(join(home, 'bin', 'java')) && (best === null || major > best.major))
      best = { home, major };
  }
  if (best) return join(best.home, 'bin', 'java');
  throw new Error(
    'Apicurio Registry 3.x needs Java 21+: none found in SWITCHYARD_JAVA21_HOME, JAVA_HOME or /usr/lib/jvm',
  );
}

function statePaths(stateDir: string) {
  return { info: join(stateDir, 'registry.json'), log: join(stateDir, 'registry.log') };
}

/** Whether the registry of `info` runs: the pid lives and (with procfs) its command line is ours. */
function isRegistryAlive(info: RegistryInfo): boolean {
  return isOwnProcess(info.pid, `-Dswitchyard.state=${info.stateDir}`);
}

/** Reads `<stateDir>/registry.json`, written by the last start; `undefined` if there is none. */
export function readRegistryInfo(stateDir: string): RegistryInfo | undefined {
  const path = statePaths(resolve(stateDir)).info;
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as RegistryInfo;
}

/** One request to the Confluent-compatible API; true once it answers 200. */
async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

function logTail(logFile: string): string {
  try {
    return tailLines(readFileSync(logFile, 'utf8'), LOG_TAIL_LINES);
  } catch {
    return '(no log)';
  }
}

/**
 * Starts the registry of `stateDir` and resolves once its Confluent-compatible API answers.
 * Storage is in memory: every start begins empty (a restart keeps the port, not the schemas).
 * If it is already running, its info is returned once it answers.
 * @throws if the app cannot be fetched, no Java 21+ is found, or it is not up within 180 s
 *   (the message includes the last 30 log lines; the process is stopped).
 */
export async function startRegistry(opts: {
  stateDir: string;
  version?: string;
  log?: ProgressLog;
}): Promise<RegistryInfo> {
  const stateDir = resolve(opts.stateDir);
  const log = opts.log ?? noop;
  const current = readRegistryInfo(stateDir);
  if (current && isRegistryAlive(current)) {
    log(`Apicurio Registry already running (pid ${current.pid}) at ${current.url}`);
    await waitUntilUp(current, () => undefined);
    return current;
  }
  const version =
    opts.version || process.env.APICURIO_VERSION || current?.version || DEFAULT_APICURIO_VERSION;
  const app = await ensureRegistryApp(version, log);
  const java = findJava21();
  await mkdir(stateDir, { recursive: true });
  let port = current?.port;
  let managementPort = current?.managementPort;
  if (port === undefined || managementPort === undefined) [port, managementPort] = await freePorts(2);
  if (port === undefined || managementPort === undefined) throw new Error('could not pick free ports');
  const paths = statePaths(stateDir);
  const args = [
    ...JVM_OPTS,
    `-Dswitchyard.state=${stateDir}`, // marks the process as ours (isRegistryAlive)
    '-Dquarkus.http.host=127.0.0.1',
    `-Dquarkus.http.port=${port}`,
    '-Dquarkus.management.host=127.0.0.1',
    `-Dquarkus.management.port=${managementPort}`,
    '-Dquarkus.http.access-log.enabled=false',
    '-Dquarkus.log.category."io.apicurio".level=WARN',
    `-Dapicurio.storage.snapshot.location=${stateDir}`,
    `-Dapicurio.import.work-dir=${stateDir}`,
    '-jar',
    join(app, 'quarkus-run.jar'),
  ];
  const child = await spawnDetached('Apicurio Registry', java, args, { cwd: stateDir, logFile: paths.log });
  const info: RegistryInfo = {
    url: `http://127.0.0.1:${port}${CCOMPAT_PATH}`,
    port,
    managementPort,
    pid: child.pid,
    stateDir,
    version,
    logFile: paths.log,
  };
  await writeFile(paths.info, `${JSON.stringify(info, null, 2)}\n`);
  log(`Started Apicurio Registry ${version} (pid ${child.pid}) at ${info.url}; waiting until it answers...`);
  try {
    await waitUntilUp(info, child.exited);
  } catch (error) {
    await stopRegistry(stateDir);
    throw error;
  }
  return info;
}

async function waitUntilUp(info: RegistryInfo, exited: () => string | undefined): Promise<void> {
  await waitForStartup({
    timeoutMs: START_TIMEOUT_MS,
    intervalMs: 200,
    exited,
    ready: () => answers(info.url),
    failure: ({ exit }) =>
      new Error(
        `${exit !== undefined ? `Apicurio Registry exited during startup (${exit})` : `Apicurio Registry not up after ${START_TIMEOUT_MS / 1000} s`}\n${logTail(info.logFile)}`,
      ),
  });
}

/** Stops the registry of `stateDir` (SIGTERM, SIGKILL after 10 s). Does nothing if it is not running. */
export async function stopRegistry(stateDir: string): Promise<void> {
  const info = readRegistryInfo(stateDir);
  if (info) await stopProcessGroup('Apicurio Registry', info.pid, () => isRegistryAlive(info));
}

/** Stops the registry and removes `stateDir`. */
export async function destroyRegistry(stateDir: string): Promise<void> {
  const dir = resolve(stateDir);
  await stopRegistry(dir);
  if (!existsSync(dir)) return;
  // A typo in --state must not wipe an unrelated directory: only remove what looks like ours.
  if (!existsSync(statePaths(dir).info) && readdirSync(dir).length > 0)
    throw new Error(`Refusing to remove ${dir}: it does not look like a registry state dir`);
  await rm(dir, { recursive: true, force: true });
}

const USAGE = `Usage: node --import tsx scripts/schema-registry.ts <start|stop|restart|destroy|status> [--state DIR] [--version V]

  start    start the registry (in-memory storage); last stdout line: SCHEMA_REGISTRY_URL=<ccompat url>
  stop     stop it (its schemas are gone: storage is in memory)
  restart  stop, then start again on the same port, empty
  destroy  stop it and remove DIR
  status   print its info as JSON; exit code 0 if running, 3 if not

  --state DIR    state directory (default: .schema-registry-state in the repo root)
  --version V    Apicurio Registry version (default: $APICURIO_VERSION or ${DEFAULT_APICURIO_VERSION})
`;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const stderrLog: ProgressLog = (message) => process.stderr.write(`[schema-registry] ${message}\n`);

async function cliStart(stateDir: string, version: string | undefined): Promise<number> {
  const started = Date.now();
  const info = await startRegistry({ stateDir, version, log: stderrLog });
  stderrLog(`Up in ${((Date.now() - started) / 1000).toFixed(1)} s (log: ${info.logFile})`);
  process.stdout.write(`SCHEMA_REGISTRY_URL=${info.url}\n`);
  return 0;
}

const main = serviceMain({
  usage: USAGE,
  defaultStateDir: join(repoRoot, '.schema-registry-state'),
  log: stderrLog,
  start: cliStart,
  stop: stopRegistry,
  stoppedMessage: () => 'Stopped',
  destroy: destroyRegistry,
  status: (stateDir) => {
    const info = readRegistryInfo(stateDir);
    return { running: info !== undefined && isRegistryAlive(info), info };
  },
});

runWhenInvoked(import.meta.url, 'schema-registry', main);
