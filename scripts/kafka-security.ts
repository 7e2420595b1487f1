/**
 * The secure listeners of the test broker (scripts/kafka.ts): the ones production clusters run,
 * next to the PLAINTEXT listener that the controller, test set-up and the plain tests keep using.
 *
 * - `SASL_SSL`: TLS, then SASL PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER (unsecured JWTs,
 *   the broker's default validator: tests mint tokens with {@link unsecuredJwt}).
 * - `SASL_PLAINTEXT`: the same SASL mechanisms without TLS.
 * - `SSL`: TLS with a required client certificate (mTLS); the principal is the certificate's CN.
 * - `EXPIRED`: TLS with a server certificate that expired (to provoke that failure on purpose).
 * ACLs are enforced by KRaft's StandardAuthorizer; `User:ANONYMOUS` (PLAINTEXT) and `User:admin`
 * are super users, so everything that worked before keeps working.
 *
 * Certificates are made with `openssl` when a state dir is first formatted (valid 30 days, never
 * committed), each state dir with its own CA and random passwords, all kept in `<stateDir>/tls`.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Ports of the secure listeners (all on 127.0.0.1). */
export interface SecurePorts {
  saslSsl: number;
  saslPlaintext: number;
  ssl: number;
  expired: number;
}

/**
 * Everything a test needs to reach the secure listeners; stored in `<stateDir>/security.json`.
 * Paths are absolute; passwords are random per state dir.
 */
export interface BrokerSecurity {
  ports: SecurePorts;
  /** Bootstrap strings, e.g. `127.0.0.1:41235`. */
  saslSslBrokers: string;
  saslPlaintextBrokers: string;
  sslBrokers: string;
  expiredBrokers: string;
  /** PEM of the CA that signed the broker and client certificates. */
  caFile: string;
  /** A CA that signed nothing here: trusting only it makes the broker's certificate unknown. */
  otherCaFile: string;
  /** mTLS client certificate and key (PEM, key unencrypted); its principal is `User:<clientCertCn>`. */
  clientCertFile: string;
  clientKeyFile: string;
  clientCertCn: string;
  /** Super user (SASL PLAIN and SCRAM), for set-up through the secure listeners. */
  admin: { username: string; password: string };
  /** A user with no rights of its own (SASL PLAIN and both SCRAMs): tests grant it ACLs. */
  reader: { username: string; password: string };
  /** Broker's re-authentication interval on the SASL listeners (KIP-368), in ms. */
  reauthMs: number;
}

/** SASL clients must log in again this often, as MSK and Confluent Cloud make them do. */
const REAUTH_MS = 30_000;
const CERT_DAYS = '30';
const SECURE_MECHANISMS = 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER';

function password(): string {
  return randomBytes(12).toString('base64url');
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd });
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('`openssl` not found on PATH (needed for the TLS listeners)');
    throw new Error(`\`openssl ${args.join(' ')}\` failed:\n${e.stderr ?? e.message}`);
  }
}

/** `openssl req` options for a new EC P-256 key, unencrypted (`-keyout` names its file). */
export const NEW_EC_P256_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A new key `<name>.key` for `/CN=<cn>`, and what `output` asks of `openssl req` with it. */
async function newKey(dir: string, name: string, cn: string, output: string[]): Promise<void> {
  await openssl(['req', ...NEW_EC_P256_KEY, '-keyout', `${name}.key`, '-subj', `/CN=${cn}`, ...output], dir);
}

/** A new key and a CSR `<name>.csr` for `cn`, for {@link sign}. */
async function keyAndCsr(dir: string, name: string, cn: string): Promise<void> {
  await newKey(dir, name, cn, ['-out', `${name}.csr`]);
}

/** A new key and a self-signed CA certificate `<name>.pem` for `cn`. */
async function selfSignedCa(dir: string, name: string, cn: string): Promise<void> {
  await newKey(dir, name, cn, ['-x509', '-days', CERT_DAYS, '-out', `${name}.pem`]);
}

/** Signs `<name>.csr` with the CA; `days` -1 makes a certificate that expired a day ago. */
async function sign(dir: string, name: string, days: string, extensions: string): Promise<void> {
  await writeFile(join(dir, `${name}.ext`), `${extensions}\n`);
  await openssl(
    [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      days,
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    ],
    dir,
  );
}

/** A PKCS#12 keystore (JDK 17 reads openssl 3's default encryption) for the broker. */
async function keystore(dir: string, name: string, storePassword: string): Promise<void> {
  await openssl(
    [
      'pkcs12',
      '-export',
      '-in',
      `${name}.pem`,
      '-inkey',
      `${name}.key`,
      '-certfile',
      'ca.pem',
      '-name',
      'broker',
      '-passout',
      `pass:${storePassword}`,
      '-out',
      `${name}.p12`,
    ],
    dir,
  );
}

/**
 * Makes the CA, the broker certificates (one valid for IP 127.0.0.1 only, so a client reaching it as
 * `localhost` fails the host-name check; one expired), the mTLS client certificate and a stray CA.
 */
export async function createBrokerSecurity(
  stateDir: string,
  ports: SecurePorts,
): Promise<{ security: BrokerSecurity; storePassword: string }> {
  const dir = join(stateDir, 'tls');
  await mkdir(dir, { recursive: true });
  const storePassword = password();
  const clientCertCn = 'reader-mtls';
  await selfSignedCa(dir, 'ca', 'Switchyard test CA');
  await selfSignedCa(dir, 'other-ca', 'Some other CA');
  const serverExt = 'basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth';
  await keyAndCsr(dir, 'broker', 'switchyard-test-broker');
  await sign(dir, 'broker', CERT_DAYS, serverExt);
  await keystore(dir, 'broker', storePassword);
  await keyAndCsr(dir, 'expired', 'switchyard-test-broker');
  await sign(dir, 'expired', '-1', serverExt);
  await keystore(dir, 'expired', storePassword);
  await keyAndCsr(dir, 'client', clientCertCn);
  await sign(dir, 'client', CERT_DAYS, 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth');
  const at = (port: number) => `127.0.0.1:${port}`;
  return {
    storePassword,
    security: {
      ports,
      saslSslBrokers: at(ports.saslSsl),
      saslPlaintextBrokers: at(ports.saslPlaintext),
      sslBrokers: at(ports.ssl),
      expiredBrokers: at(ports.expired),
      caFile: join(dir, 'ca.pem'),
      otherCaFile: join(dir, 'other-ca.pem'),
      clientCertFile: join(dir, 'client.pem'),
      clientKeyFile: join(dir, 'client.key'),
      clientCertCn,
      admin: { username: 'admin', password: password() },
      reader: { username: 'reader', password: password() },
      reauthMs: REAUTH_MS,
    },
  };
}

/** `StorageTool format` flags creating the SCRAM users (KIP-900) in the new cluster's metadata. */
export function scramFormatArgs(s: BrokerSecurity): string[] {
  const out: string[] = [];
  for (const user of [s.admin, s.reader])
    for (const mechanism of ['SCRAM-SHA-256', 'SCRAM-SHA-512'])
      out.push('--add-scram', `${mechanism}=[name=${user.username},password=${user.password}]`);
  return out;
}

/** JAAS value quoting: the passwords are base64url, so plain double quotes suffice. */
function jaasPlainUsers(s: BrokerSecurity): string {
  return [s.admin, s.reader].map((u) => `user_${u.username}="${u.password}"`).join(' ');
}

/**
 * The server.properties lines of the secure listeners and the authorizer, to append to the
 * PLAINTEXT broker's. `listeners`, `advertised.listeners` and the protocol map are returned apart,
 * as the caller joins them with its own.
 */
export function secureServerProperties(
  s: BrokerSecurity,
  storePassword: string,
  stateDir: string,
): { listeners: string[]; protocolMap: string[]; lines: string[] } {
  const tls = join(stateDir, 'tls');
  const { ports } = s;
  const listeners = [
    `SASL_SSL://127.0.0.1:${ports.saslSsl}`,
    `SASL_PLAINTEXT://127.0.0.1:${ports.saslPlaintext}`,
    `SSL://127.0.0.1:${ports.ssl}`,
    `EXPIRED://127.0.0.1:${ports.expired}`,
  ];
  const protocolMap = ['SASL_SSL:SASL_SSL', 'SASL_PLAINTEXT:SASL_PLAINTEXT', 'SSL:SSL', 'EXPIRED:SSL'];
  const lines = [
    // ACLs, enforced by KRaft's authorizer; the PLAINTEXT listener (ANONYMOUS) and admin may do anything.
    'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found=false',
    'super.users=User:ANONYMOUS;User:admin',
    // TLS: one CA (a PEM truststore needs no password), the broker's own key and certificate.
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${join(tls, 'broker.p12')}`,
    `ssl.keystore.password=${storePassword}`,
    `ssl.key.password=${storePassword}`,
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${join(tls, 'ca.pem')}`,
    // mTLS on SSL: the principal is the client certificate's CN (User:reader-mtls), not its whole DN.
    'listener.name.ssl.ssl.client.auth=required',
    'ssl.principal.mapping.rules=RULE:^CN=([^,]+)$/$1/,DEFAULT',
    `listener.name.expired.ssl.keystore.location=${join(tls, 'expired.p12')}`,
    `listener.name.expired.ssl.keystore.password=${storePassword}`,
    `listener.name.expired.ssl.key.password=${storePassword}`,
    `sasl.enabled.mechanisms=${SECURE_MECHANISMS}`,
  ];
  for (const listener of ['sasl_ssl', 'sasl_plaintext']) {
    const p = `listener.name.${listener}`;
    lines.push(
      `${p}.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required ${jaasPlainUsers(s)};`,
      `${p}.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
      `${p}.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;`,
      // The broker's default (unsecured) validator: accepts unsigned JWTs, principal = `sub`.
      `${p}.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";`,
      `${p}.connections.max.reauth.ms=${s.reauthMs}`,
    );
  }
  return { listeners, protocolMap, lines };
}

/**
 * An unsigned JWT (`alg: none`) for `sub`, as the broker's default OAUTHBEARER validator accepts
 * (never use such a validator in production: anyone can mint these).
 */
export function unsecuredJwt(sub: string, lifetimeSeconds = 3600, now = Date.now()): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const iat = Math.floor(now / 1000);
  return `${b64({ alg: 'none' })}.${b64({ sub, iat, exp: iat + lifetimeSeconds })}.`;
}
