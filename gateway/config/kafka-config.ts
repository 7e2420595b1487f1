import { X509Certificate } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { BrokerListError, formatBroker, parseBrokerList } from './kafka-brokers.ts';
import type { EnvOutput } from './schema.ts';

/** A secret given inline or as a file (read again whenever it changes: kafka-client.ts). */
export type SecretRef = { readonly value: string } | { readonly file: string };

export interface KafkaTlsConfig {
  /** PEM CA bundle; null: Node's built-in public CAs. */
  readonly caFile: string | null;
  readonly certFile: string | null;
  readonly keyFile: string | null;
  readonly keyPassword: SecretRef | null;
  readonly checkHostname: boolean;
}

export type KafkaSaslConfig =
  | {
      readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
      readonly username: SecretRef;
      readonly password: SecretRef;
    }
  | {
      readonly mechanism: 'oauthbearer';
      readonly tokenFile: string | null;
      readonly tokenCommand: string | null;
      readonly extensions: Readonly<Record<string, string>>;
    };

/** How to reach Kafka; shared by the source, the rollout store and the dead-letter producer. */
export interface KafkaConnectionConfig {
  /** `host:port` (IPv6 in brackets), without listener prefixes. */
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly connectTimeoutMs: number;
  readonly maxRetryMs: number;
  /** Prefix of every consumer group id (`<prefix>.<host>.<pid>.<random>`). */
  readonly groupPrefix: string;
  /** null: plaintext. */
  readonly tls: KafkaTlsConfig | null;
  /** null: no SASL. */
  readonly sasl: KafkaSaslConfig | null;
}

function secretRef(
  e: EnvOutput,
  name: 'KAFKA_SASL_USERNAME' | 'KAFKA_SASL_PASSWORD' | 'KAFKA_TLS_KEY_PASSWORD',
  problems: string[],
): SecretRef | null {
  const value = e[name];
  const file = e[`${name}_FILE`];
  if (value !== undefined && file !== undefined) {
    problems.push(`${name}: set ${name} or ${name}_FILE, not both`);
    return null;
  }
  if (file !== undefined) {
    if (readable(`${name}_FILE`, file, problems) && readFileSync(file, 'utf8').trim() === '')
      problems.push(`${name}_FILE: ${file} is empty`);
    return { file };
  }
  return value === undefined ? null : { value };
}

function readable(name: string, file: string, problems: string[]): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch (err) {
    problems.push(`${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return false;
  }
}

/** The secret's current text (files: trimmed of surrounding whitespace, as `echo` leaves a newline). */
export function readSecret(ref: SecretRef): string {
  return 'value' in ref ? ref.value : readFileSync(ref.file, 'utf8').trim();
}

function parseExtensions(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text ? text.split(',') : []) {
    const at = pair.indexOf('=');
    out[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return out;
}

/** Whether a file holds PEM certificates that all parse. */
function pemCertificates(file: string): boolean {
  const blocks = readFileSync(file, 'utf8').match(
    /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g,
  );
  if (!blocks) return false;
  try {
    for (const b of blocks) new X509Certificate(b);
    return true;
  } catch {
    return false;
  }
}

function tlsConfig(e: EnvOutput, on: boolean, problems: string[]): KafkaTlsConfig | null {
  const files = ['KAFKA_TLS_CA_FILE', 'KAFKA_TLS_CERT_FILE', 'KAFKA_TLS_KEY_FILE'] as const;
  if (!on) {
    for (const name of [...files, 'KAFKA_TLS_KEY_PASSWORD', 'KAFKA_TLS_KEY_PASSWORD_FILE'] as const)
      if (e[name] !== undefined)
        problems.push(
          `${name}: set, but TLS is off; set KAFKA_TLS=true (or use an SSL:// / SASL_SSL:// listener)`,
        );
    return null;
  }
  const keyPassword = secretRef(e, 'KAFKA_TLS_KEY_PASSWORD', problems);
  const cert = e.KAFKA_TLS_CERT_FILE;
  const key = e.KAFKA_TLS_KEY_FILE;
  if ((cert === undefined) !== (key === undefined))
    problems.push(
      `${cert === undefined ? 'KAFKA_TLS_CERT_FILE' : 'KAFKA_TLS_KEY_FILE'}: a client certificate needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE`,
    );
  const ok = files.every((name) => e[name] === undefined || readable(name, e[name]!, problems));
  for (const name of ['KAFKA_TLS_CA_FILE', 'KAFKA_TLS_CERT_FILE'] as const)
    if (ok && e[name] !== undefined && !pemCertificates(e[name]!))
      problems.push(
        `${name}: no usable PEM certificate in ${e[name]} (expected -----BEGIN CERTIFICATE----- blocks)`,
      );
  if (ok && problems.length === 0) {
    // Parse the PEM now, so a wrong file or passphrase stops the start instead of every connection.
    try {
      createSecureContext({
        ca: e.KAFKA_TLS_CA_FILE ? readFileSync(e.KAFKA_TLS_CA_FILE) : undefined,
        cert: cert ? readFileSync(cert) : undefined,
        key: key ? readFileSync(key) : undefined,
        passphrase: keyPassword ? readSecret(keyPassword) : undefined,
      });
    } catch (err) {
      problems.push(
        `KAFKA_TLS_CA_FILE/KAFKA_TLS_CERT_FILE/KAFKA_TLS_KEY_FILE: not usable PEM (${(err as Error).message}); expected PEM files (a key passphrase goes in KAFKA_TLS_KEY_PASSWORD)`,
      );
    }
  }
  return {
    caFile: e.KAFKA_TLS_CA_FILE ?? null,
    certFile: cert ?? null,
    keyFile: key ?? null,
    keyPassword,
    checkHostname: e.KAFKA_TLS_CHECK_HOSTNAME,
  };
}

function saslConfig(e: EnvOutput, problems: string[]): KafkaSaslConfig | null {
  const mechanism = e.KAFKA_SASL_MECHANISM;
  const username = secretRef(e, 'KAFKA_SASL_USERNAME', problems);
  const password = secretRef(e, 'KAFKA_SASL_PASSWORD', problems);
  const oauth = {
    KAFKA_SASL_OAUTH_TOKEN_FILE: e.KAFKA_SASL_OAUTH_TOKEN_FILE,
    KAFKA_SASL_OAUTH_TOKEN_COMMAND: e.KAFKA_SASL_OAUTH_TOKEN_COMMAND,
    KAFKA_SASL_OAUTH_EXTENSIONS: e.KAFKA_SASL_OAUTH_EXTENSIONS,
  };
  if (mechanism === undefined) {
    const stray = [
      ...(username ? ['KAFKA_SASL_USERNAME'] : []),
      ...(password ? ['KAFKA_SASL_PASSWORD'] : []),
      ...Object.entries(oauth)
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k),
    ];
    for (const name of stray)
      problems.push(
        `${name}: set, but KAFKA_SASL_MECHANISM is not (plain, scram-sha-256, scram-sha-512 or oauthbearer)`,
      );
    return null;
  }
  if (mechanism === 'oauthbearer') {
    if (username || password)
      problems.push(
        'KAFKA_SASL_USERNAME/KAFKA_SASL_PASSWORD: not used by oauthbearer (give a token instead)',
      );
    const { KAFKA_SASL_OAUTH_TOKEN_FILE: file, KAFKA_SASL_OAUTH_TOKEN_COMMAND: command } = oauth;
    if ((file === undefined) === (command === undefined))
      problems.push(
        'KAFKA_SASL_OAUTH_TOKEN_FILE: oauthbearer needs exactly one of KAFKA_SASL_OAUTH_TOKEN_FILE or KAFKA_SASL_OAUTH_TOKEN_COMMAND',
      );
    if (file !== undefined) readable('KAFKA_SASL_OAUTH_TOKEN_FILE', file, problems);
    return {
      mechanism,
      tokenFile: file ?? null,
      tokenCommand: command ?? null,
      extensions: parseExtensions(oauth.KAFKA_SASL_OAUTH_EXTENSIONS),
    };
  }
  for (const name of [
    'KAFKA_SASL_OAUTH_TOKEN_FILE',
    'KAFKA_SASL_OAUTH_TOKEN_COMMAND',
    'KAFKA_SASL_OAUTH_EXTENSIONS',
  ] as const)
    if (oauth[name] !== undefined) problems.push(`${name}: only used with KAFKA_SASL_MECHANISM=oauthbearer`);
  if (!username) problems.push(`KAFKA_SASL_USERNAME: required by KAFKA_SASL_MECHANISM=${mechanism}`);
  if (!password)
    problems.push(
      `KAFKA_SASL_PASSWORD: required by KAFKA_SASL_MECHANISM=${mechanism} (or KAFKA_SASL_PASSWORD_FILE)`,
    );
  if (!username || !password) return null;
  return { mechanism, username, password };
}

/**
 * The Kafka connection of a validated environment, or null without KAFKA_BROKERS (demo feed).
 * Problems are appended to `problems`, each naming the variable to fix.
 */
export function kafkaConfig(e: EnvOutput, problems: string[]): KafkaConnectionConfig | null {
  if (e.KAFKA_BROKERS === undefined) return null;
  const before = problems.length;
  let brokers: string[] = [];
  let protocol: string | null = null;
  try {
    const parsed = parseBrokerList(e.KAFKA_BROKERS);
    brokers = parsed.brokers.map(formatBroker);
    protocol = parsed.protocol;
  } catch (err) {
    if (!(err instanceof BrokerListError)) throw err;
    problems.push(`KAFKA_BROKERS: ${err.message}`);
  }
  const prefixTls = protocol === 'SSL' || protocol === 'SASL_SSL';
  const prefixSasl = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';
  if (protocol !== null && e.KAFKA_TLS !== undefined && e.KAFKA_TLS !== prefixTls)
    problems.push(
      `KAFKA_TLS: ${e.KAFKA_TLS} contradicts the ${protocol}:// prefix of KAFKA_BROKERS; drop one of them`,
    );
  if (protocol !== null && prefixSasl && e.KAFKA_SASL_MECHANISM === undefined)
    problems.push(
      `KAFKA_SASL_MECHANISM: required by the ${protocol}:// prefix of KAFKA_BROKERS (plain, scram-sha-256, scram-sha-512 or oauthbearer)`,
    );
  if (protocol !== null && !prefixSasl && e.KAFKA_SASL_MECHANISM !== undefined)
    problems.push(
      `KAFKA_SASL_MECHANISM: set, but KAFKA_BROKERS says ${protocol}:// (no SASL); write SASL_${prefixTls ? 'SSL' : 'PLAINTEXT'}://host:port or drop the prefix`,
    );
  const tls = tlsConfig(e, e.KAFKA_TLS ?? prefixTls, problems);
  const sasl = saslConfig(e, problems);
  if (problems.length > before) return null;
  return {
    brokers,
    clientId: e.KAFKA_CLIENT_ID,
    connectTimeoutMs: e.KAFKA_CONNECT_TIMEOUT_MS,
    maxRetryMs: e.KAFKA_MAX_RETRY_MS,
    groupPrefix: e.KAFKA_GROUP_PREFIX ?? e.KAFKA_CLIENT_ID,
    tls,
    sasl,
  };
}
