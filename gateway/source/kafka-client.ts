import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP, connect as netConnect } from 'node:net';
import { hostname } from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import {
  type ISocketFactory,
  Kafka,
  type KafkaConfig,
  type LogEntry,
  logLevel,
  type SASLOptions,
} from 'kafkajs';
import { parseBrokerList } from '../config/kafka-brokers.ts';
import type { KafkaSaslConfig, KafkaTlsConfig, SecretRef } from '../config/kafka-config.ts';
import type { Logger } from '../observability/logger.ts';
import { type CodecName, registerKafkaCodecs } from './kafka-codecs.ts';
import { isConnectionProblem } from './kafka-failure.ts';
import { OAuthTokenSource } from './oauth-token.ts';
import { FileSecret } from './secret-file.ts';

export interface KafkaClientOptions {
  brokers: readonly string[];
  clientId: string;
  connectTimeoutMs: number;
  maxRetryMs: number;
  /** Codecs decoded on fetch (default: all); registered process-wide (kafka-codecs.ts). */
  codecs?: readonly CodecName[];
  /** null/absent: plaintext. */
  tls?: KafkaTlsConfig | null;
  /** null/absent: no SASL. */
  sasl?: KafkaSaslConfig | null;
  /** Prefix of consumer group ids (default: clientId). */
  groupPrefix?: string;
  /** kafkajs' own retries of one request (default 8). */
  retries?: number;
}

const KEEP_ALIVE_MS = 60_000;
const IPV6_ALIAS = 'switchyard-ipv6-';

/** A secret as a getter: files are read at each login, so a rotated secret is used from then on. */
function secretGetter(ref: SecretRef, log: Logger, what: string): () => string {
  if ('value' in ref) return () => ref.value;
  const file = new FileSecret(ref.file, (err) =>
    log.warn({ file: ref.file, err: err.message }, `${what} file unreadable; using its last content`),
  );
  return () => file.read();
}

function saslOptions(sasl: KafkaSaslConfig, log: Logger): SASLOptions {
  if (sasl.mechanism === 'oauthbearer') {
    const tokens = new OAuthTokenSource(sasl, log);
    return {
      mechanism: 'oauthbearer',
      oauthBearerProvider: async () => ({
        value: await tokens.token(),
        ...(Object.keys(sasl.extensions).length > 0 ? { extensions: { ...sasl.extensions } } : {}),
      }),
    } as SASLOptions;
  }
  const username = secretGetter(sasl.username, log, 'KAFKA_SASL_USERNAME');
  const password = secretGetter(sasl.password, log, 'KAFKA_SASL_PASSWORD');
  // kafkajs keeps this object and reads username/password at each (re-)authentication.
  return {
    mechanism: sasl.mechanism,
    get username() {
      return username();
    },
    get password() {
      return password();
    },
  } as SASLOptions;
}

function tlsOptions(tls: KafkaTlsConfig, log: Logger): Record<string, unknown> {
  const keyPassword = tls.keyPassword ? secretGetter(tls.keyPassword, log, 'KAFKA_TLS_KEY_PASSWORD') : null;
  return {
    ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
    ...(tls.certFile ? { cert: readFileSync(tls.certFile) } : {}),
    ...(tls.keyFile ? { key: readFileSync(tls.keyFile) } : {}),
    ...(keyPassword ? { passphrase: keyPassword() } : {}),
    // Chain and expiry are still checked; only the name is not.
    ...(tls.checkHostname ? {} : { checkServerIdentity: () => undefined }),
  };
}

/**
 * kafkajs errors that are expected states while topics and groups are being set up, or while
 * several workers race to create the control topic: logged at debug, not as warnings. (If they
 * last, the gateway's own retry and readiness logs say so.)
 */
const TRANSIENT =
  /does not host this topic-partition|no leader for this topic-partition|leader is not available|coordinator is not available|coordinator is loading|not the correct coordinator|group is rebalancing|Topic creation errors/i;

/**
 * Seed brokers for kafkajs, which splits `host:port` at the first colon: an IPv6 seed becomes an
 * alias that {@link socketFactory} maps back. Brokers learnt from metadata never need it.
 */
function seedBrokers(brokers: readonly string[]): { seeds: string[]; aliases: Map<string, string> } {
  const aliases = new Map<string, string>();
  const seeds = parseBrokerList(brokers.join(',')).brokers.map((b, i) => {
    if (!b.host.includes(':')) return `${b.host}:${b.port}`;
    const alias = `${IPV6_ALIAS}${i}`;
    aliases.set(alias, b.host);
    return `${alias}:${b.port}`;
  });
  return { seeds, aliases };
}

/** kafkajs' own socket factory, plus the IPv6 seed aliases. */
function socketFactory(aliases: ReadonlyMap<string, string>): ISocketFactory {
  return ({ host, port, ssl, onConnect }) => {
    const real = aliases.get(host) ?? host;
    const socket = ssl
      ? tlsConnect(
          Object.assign({ host: real, port }, isIP(real) ? {} : { servername: real }, ssl),
          onConnect,
        )
      : netConnect({ host: real, port }, onConnect);
    socket.setKeepAlive(true, KEEP_ALIVE_MS);
    return socket;
  };
}

/**
 * The one way the gateway builds a kafkajs client (source, rollout store, dead-letter producer):
 * TLS and SASL from the config, its retry policy, and its logs routed into pino. kafkajs' errors
 * about connecting, TLS, logins and authorization go to debug: the gateway reports each of those
 * itself, once, with its cause and the setting to check (kafka-health.ts); other errors are warnings.
 */
export function createKafkaClient(opts: KafkaClientOptions, log: Logger): Kafka {
  registerKafkaCodecs(opts.codecs);
  const { seeds, aliases } = seedBrokers(opts.brokers);
  const config: KafkaConfig = {
    clientId: opts.clientId,
    brokers: seeds,
    connectionTimeout: opts.connectTimeoutMs,
    retry: { initialRetryTime: 200, maxRetryTime: opts.maxRetryMs, retries: opts.retries ?? 8 },
    socketFactory: socketFactory(aliases),
    // DEBUG, but only to catch why a group coordinator was not found; other debug lines are dropped here.
    logLevel: logLevel.DEBUG,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        if (entry.message === OFFSET_RESET) {
          // The reader that owns the group reports it, with what was lost (topic-reader.ts).
          tellOffsetOutOfRange(entry);
          log.debug({ kafkajs: entry }, entry.message);
          return;
        }
        if (level === logLevel.DEBUG) {
          if (entry.message === COORDINATOR_TRIED) noteCoordinatorError(entry);
          return;
        }
        const { message, ...extra } = entry;
        // A crash is reported by the gateway itself (with its cause), as are connection problems;
        // expected transient states (TRANSIENT) are not worth a warning either.
        const text = `${message} ${String(extra.error ?? '')}`;
        const known = message.startsWith('Crash') || isConnectionProblem(text) || TRANSIENT.test(text);
        if (level <= logLevel.ERROR && !known) log.warn({ kafkajs: extra }, message);
        else log.debug({ kafkajs: extra }, message);
      },
  };
  if (opts.tls) config.ssl = tlsOptions(opts.tls, log);
  if (opts.sasl) config.sasl = saslOptions(opts.sasl, log);
  return new Kafka(config);
}

/** What kafkajs logs, and nothing else, when it silently moves a consumer to its default offset. */
const OFFSET_RESET = 'Offset out of range, resetting to default offset';
/** Per group id, who wants to know when its consumer's offset went out of range. */
const offsetResetListeners = new Map<string, (topic: string, partition: number) => void>();

function tellOffsetOutOfRange(entry: LogEntry['log']): void {
  const {
    groupId: id,
    topic,
    partition,
  } = entry as { groupId?: unknown; topic?: unknown; partition?: unknown };
  if (typeof id !== 'string' || typeof topic !== 'string' || typeof partition !== 'number') return;
  offsetResetListeners.get(id)?.(topic, partition);
}

/**
 * Calls `listener` when the consumer of group `group` fetched an offset the broker no longer (or
 * not yet) has. kafkajs handles that by moving to its default offset with only a log line, so the
 * line is the signal (its text is pinned with the kafkajs version; test/integration/
 * kafka-offset-reset.test.ts fails if it changes). Synchronous, before kafkajs moves on. Returns
 * the way to stop listening.
 */
export function onOffsetOutOfRange(
  group: string,
  listener: (topic: string, partition: number) => void,
): () => void {
  offsetResetListeners.set(group, listener);
  return () => {
    if (offsetResetListeners.get(group) === listener) offsetResetListeners.delete(group);
  };
}

const COORDINATOR_TRIED = 'Tried to find group coordinator';
const MAX_NOTED = 256;
/** Per group id, the error the broker gave when asked for its coordinator (kafkajs drops it). */
const coordinatorErrors = new Map<string, unknown>();

function noteCoordinatorError(entry: LogEntry['log']): void {
  const { groupId: id, error } = entry as { groupId?: unknown; error?: unknown };
  if (typeof id !== 'string' || error === undefined) return;
  if (coordinatorErrors.size >= MAX_NOTED) coordinatorErrors.delete(coordinatorErrors.keys().next().value!);
  coordinatorErrors.set(id, error);
}

/**
 * kafkajs reports any failure to find a group's coordinator as "Failed to find group coordinator",
 * dropping the broker's answer (e.g. GROUP_AUTHORIZATION_FAILED). This puts that answer back as
 * the error's `cause`, so the failure can be told apart (kafka-failure.ts).
 */
export function withCoordinatorCause(err: unknown, group: string | undefined): unknown {
  if (!group || !(err instanceof Error) || err.name !== 'KafkaJSGroupCoordinatorNotFound') return err;
  const cause = coordinatorErrors.get(group);
  coordinatorErrors.delete(group);
  if (cause !== undefined && err.cause === undefined) Object.assign(err, { cause });
  return err;
}

/**
 * A consumer group id of this instance: `<prefix>[.<role>].<host>.<pid>.<random>`. Each instance
 * reads everything and commits nothing, so every group is its own; ACLs grant the prefix.
 */
export function groupId(prefix: string, role?: string): string {
  const parts = [prefix, ...(role ? [role] : []), hostname(), String(process.pid), randomUUID().slice(0, 8)];
  return parts.join('.');
}
