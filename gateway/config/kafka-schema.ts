import { z } from 'zod';

/** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`); a bare `--flag` is `true`. */
export const booleanSetting = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(
    z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], {
      error: 'expected true or false',
    }),
  )
  .transform((v) => v === 'true' || v === '1' || v === 'yes' || v === 'on');

const path = z.string().min(1).max(4096);
const secret = z.string().min(1).max(16_384);

/**
 * How the gateway reaches a secured Kafka cluster: TLS, SASL and the consumer group prefix.
 * Cross-field checks (a mechanism without credentials, a prefix that contradicts a setting,
 * unreadable files) are done by `kafkaConfig()` in kafka-config.ts. docs/kafka.md explains each.
 */
export const kafkaSecuritySchema = {
  /** Prefix of every consumer group id the gateway uses (ACLs: a PREFIXED group resource). Default: KAFKA_CLIENT_ID. */
  KAFKA_GROUP_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'expected letters, digits, ".", "_" or "-" (at most 100)')
    .optional(),
  /** TLS to the brokers. Unset: on when KAFKA_BROKERS has an `SSL://`/`SASL_SSL://` prefix, else off. */
  KAFKA_TLS: booleanSetting.optional(),
  /** PEM bundle of the CAs to trust. Unset: Node's built-in public CAs. */
  KAFKA_TLS_CA_FILE: path.optional(),
  /** PEM client certificate (chain) for mTLS; needs KAFKA_TLS_KEY_FILE. */
  KAFKA_TLS_CERT_FILE: path.optional(),
  /** PEM private key of KAFKA_TLS_CERT_FILE. */
  KAFKA_TLS_KEY_FILE: path.optional(),
  /** Passphrase of an encrypted KAFKA_TLS_KEY_FILE. */
  KAFKA_TLS_KEY_PASSWORD: secret.optional(),
  KAFKA_TLS_KEY_PASSWORD_FILE: path.optional(),
  /** Check that the broker's certificate names the host connected to. Off only for test clusters. */
  KAFKA_TLS_CHECK_HOSTNAME: booleanSetting.default(true),
  /** `plain`, `scram-sha-256`, `scram-sha-512` or `oauthbearer` (any case). Unset: no SASL. */
  KAFKA_SASL_MECHANISM: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(
      z.enum(['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'], {
        error: 'expected plain, scram-sha-256, scram-sha-512 or oauthbearer',
      }),
    )
    .optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).max(1024).optional(),
  KAFKA_SASL_USERNAME_FILE: path.optional(),
  KAFKA_SASL_PASSWORD: secret.optional(),
  /** Read again whenever the file changes (a rotated Kubernetes secret is used at the next login). */
  KAFKA_SASL_PASSWORD_FILE: path.optional(),
  /** OAUTHBEARER: a file holding the token, read again whenever it changes. */
  KAFKA_SASL_OAUTH_TOKEN_FILE: path.optional(),
  /** OAUTHBEARER: a command (run by /bin/sh) printing a token, or JSON with it and its lifetime. */
  KAFKA_SASL_OAUTH_TOKEN_COMMAND: z.string().min(1).max(4096).optional(),
  /** OAUTHBEARER SASL extensions, `key=value,...` (Confluent Cloud: logicalCluster, identityPoolId). */
  KAFKA_SASL_OAUTH_EXTENSIONS: z
    .string()
    .regex(/^[A-Za-z]+=[^,=\s]+(,[A-Za-z]+=[^,=\s]+)*$/, 'expected key=value[,key=value...]')
    .optional(),
};
