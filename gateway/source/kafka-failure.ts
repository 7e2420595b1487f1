/**
 * What went wrong talking to Kafka, in words an operator acts on: the cause, and the setting to
 * check. Pure: it reads kafkajs errors (and the Node socket/TLS errors they wrap) and the relevant
 * part of the config; kafka-health.ts logs, counts and exposes the result.
 */

/** Failure reasons: the `reason` label of the Kafka metrics and the `/readyz` reason. A fixed list. */
export const KAFKA_FAILURE_REASONS = [
  'authentication',
  'tls_unknown_ca',
  'tls_hostname',
  'tls_expired',
  'tls_client_certificate',
  'tls_handshake',
  'connection_closed',
  'topic_authorization',
  'group_authorization',
  'cluster_authorization',
  'unknown_topic',
  'unreachable',
  'other',
] as const;
export type KafkaFailureReason = (typeof KAFKA_FAILURE_REASONS)[number];

/**
 * Reasons that mean the client has no working session with the brokers (it cannot log in, cannot
 * complete a TLS handshake, or cannot reach them), as opposed to a refusal scoped to a topic or
 * group while other fetches go on. While the source fails with one of these it is not connected,
 * whatever it fetched a moment ago.
 */
export const SESSION_FAILURES: ReadonlySet<KafkaFailureReason> = new Set(
  KAFKA_FAILURE_REASONS.filter(
    (r) => r === 'authentication' || r.startsWith('tls_') || r === 'connection_closed' || r === 'unreachable',
  ),
);

export interface KafkaFailure {
  reason: KafkaFailureReason;
  /** One sentence: what is wrong. */
  cause: string;
  /** The settings (or broker-side change) to check. */
  check: string;
  /** The underlying error message (kafkajs / Node), for the curious. */
  detail: string;
}

/** What the classification may mention; nothing secret. */
export interface FailureContext {
  tls: boolean;
  /** SASL mechanism in use, or null. */
  sasl: string | null;
  /** Topics the failing component reads or writes. */
  topics: readonly string[];
  /** The consumer group prefix (KAFKA_GROUP_PREFIX). */
  groupPrefix: string;
  /** Where the topics come from (`STREAMS`, `ROLLOUT_TOPIC`, `DLQ_TOPIC`). */
  topicSetting: string;
}

interface Signals {
  messages: string[];
  codes: string[];
  types: string[];
  names: string[];
}

/** Every message, code, kafkajs type and name down the error's cause chain. */
function signals(err: unknown): Signals {
  const out: Signals = { messages: [], codes: [], types: [], names: [] };
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): void => {
    if (e === null || e === undefined || seen.has(e) || depth > 8) return;
    seen.add(e);
    if (typeof e !== 'object') {
      out.messages.push(String(e));
      return;
    }
    const o = e as Record<string, unknown>;
    if (typeof o.message === 'string') out.messages.push(o.message);
    if (typeof o.code === 'string') out.codes.push(o.code);
    if (typeof o.type === 'string') out.types.push(o.type);
    if (typeof o.name === 'string') out.names.push(o.name);
    visit(o.cause, depth + 1);
    visit(o.originalError, depth + 1);
    if (Array.isArray(o.errors)) for (const x of o.errors) visit(x, depth + 1);
  };
  visit(err, 0);
  return out;
}

const UNKNOWN_CA = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

type Rule = {
  reason: KafkaFailureReason;
  test: (s: Signals, text: string) => boolean;
};

const RULES: Rule[] = [
  {
    reason: 'tls_expired',
    test: (s, t) => s.codes.includes('CERT_HAS_EXPIRED') || /certificate has expired/i.test(t),
  },
  {
    reason: 'tls_hostname',
    test: (s, t) =>
      s.codes.includes('ERR_TLS_CERT_ALTNAME_INVALID') || /does not match certificate's altnames/i.test(t),
  },
  {
    reason: 'tls_unknown_ca',
    test: (s, t) =>
      s.codes.some((c) => UNKNOWN_CA.has(c)) ||
      /self[- ]signed certificate|unable to (verify the first|get (local )?issuer) certificate/i.test(t),
  },
  {
    reason: 'tls_client_certificate',
    test: (_s, t) => /alert (bad certificate|certificate required|unknown ca|certificate unknown)/i.test(t),
  },
  {
    reason: 'tls_handshake',
    test: (s, t) =>
      s.codes.some((c) => c.startsWith('ERR_SSL_') || c === 'EPROTO') ||
      /SSL routines|wrong version number/i.test(t),
  },
  {
    reason: 'authentication',
    test: (s, t) =>
      s.names.includes('KafkaJSSASLAuthenticationError') ||
      s.types.some(
        (x) =>
          x === 'SASL_AUTHENTICATION_FAILED' ||
          x === 'ILLEGAL_SASL_STATE' ||
          x === 'UNSUPPORTED_SASL_MECHANISM',
      ) ||
      /SASL|KAFKA_SASL_OAUTH_TOKEN/.test(t),
  },
  {
    reason: 'topic_authorization',
    test: (s, t) =>
      s.types.includes('TOPIC_AUTHORIZATION_FAILED') || /not authorized to access topics/i.test(t),
  },
  {
    reason: 'group_authorization',
    test: (s, t) =>
      s.types.includes('GROUP_AUTHORIZATION_FAILED') || /not authorized to access group/i.test(t),
  },
  {
    reason: 'cluster_authorization',
    test: (s, t) =>
      s.types.includes('CLUSTER_AUTHORIZATION_FAILED') || /cluster authorization failed/i.test(t),
  },
  {
    reason: 'unknown_topic',
    test: (s, t) =>
      s.types.includes('UNKNOWN_TOPIC_OR_PARTITION') ||
      /does not host this topic-partition|topic metadata not loaded|unknown topic/i.test(t),
  },
  {
    reason: 'unreachable',
    test: (s, t) =>
      s.codes.some((c) => UNREACHABLE.has(c)) ||
      /connection timeout|ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|failed to connect/i.test(t),
  },
  {
    reason: 'connection_closed',
    test: (s, t) =>
      s.names.includes('KafkaJSConnectionClosedError') || /closed connection|connection closed/i.test(t),
  },
];

/** Whether a log line of kafkajs is about something {@link classifyKafkaError} explains (so it is not repeated at warn). */
export function isConnectionProblem(text: string): boolean {
  const s: Signals = { messages: [text], codes: [], types: [], names: [] };
  return RULES.some((r) => r.test(s, text));
}

function explain(
  reason: KafkaFailureReason,
  ctx: FailureContext,
  s: Signals,
): { cause: string; check: string } {
  const topics = ctx.topics.length > 0 ? ctx.topics.join(', ') : '(none)';
  const verb = ctx.topicSetting === 'DLQ_TOPIC' ? 'write' : 'read';
  const closedCheck = !ctx.tls
    ? 'KAFKA_TLS (the listener may need TLS: SSL:// or SASL_SSL://) and KAFKA_SASL_MECHANISM'
    : !ctx.sasl
      ? 'KAFKA_SASL_MECHANISM (a SASL_SSL listener closes connections that do not log in)'
      : 'KAFKA_BROKERS (is this the listener for KAFKA_SASL_MECHANISM?)';
  switch (reason) {
    case 'authentication':
      if (s.messages.some((m) => m.includes('KAFKA_SASL_OAUTH_TOKEN')))
        return {
          cause: 'no OAUTHBEARER token could be obtained',
          check: 'KAFKA_SASL_OAUTH_TOKEN_FILE / KAFKA_SASL_OAUTH_TOKEN_COMMAND',
        };
      if (s.messages.some((m) => /mechanism is not supported|UNSUPPORTED_SASL_MECHANISM/i.test(m)))
        return {
          cause: `the broker does not offer SASL ${ctx.sasl?.toUpperCase() ?? ''} on this listener`,
          check: 'KAFKA_SASL_MECHANISM and KAFKA_BROKERS (a SASL listener: SASL_SSL:// or SASL_PLAINTEXT://)',
        };
      return {
        cause: `authentication failed: the broker refused the SASL ${ctx.sasl?.toUpperCase() ?? ''} login`,
        check:
          ctx.sasl === 'oauthbearer'
            ? 'KAFKA_SASL_OAUTH_TOKEN_FILE / KAFKA_SASL_OAUTH_TOKEN_COMMAND (is the token valid and unexpired?)'
            : 'KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD / KAFKA_SASL_PASSWORD_FILE, and KAFKA_SASL_MECHANISM',
      };
    case 'tls_unknown_ca':
      return {
        cause: "TLS failed: the broker's certificate is signed by a CA that is not trusted",
        check: 'KAFKA_TLS_CA_FILE (the PEM bundle of the CA that signed the broker certificates)',
      };
    case 'tls_hostname':
      return {
        cause: "TLS failed: the broker's certificate does not name the host connected to",
        check:
          'KAFKA_BROKERS (use the host name the certificate names); KAFKA_TLS_CHECK_HOSTNAME=false only for test clusters',
      };
    case 'tls_expired':
      return {
        cause: "TLS failed: the broker's certificate has expired",
        check: 'the broker certificate (renew it on the broker); the gateway clock',
      };
    case 'tls_client_certificate':
      return {
        cause: 'TLS failed: the broker refused or required a client certificate (mTLS)',
        check: 'KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE (signed by a CA the broker trusts)',
      };
    case 'tls_handshake':
      return {
        cause: 'TLS handshake failed',
        check: ctx.tls
          ? 'KAFKA_TLS (is the listener TLS? a PLAINTEXT listener does not speak TLS) and KAFKA_BROKERS'
          : 'KAFKA_TLS and KAFKA_BROKERS',
      };
    case 'connection_closed':
      return { cause: 'the broker closed the connection before answering', check: closedCheck };
    case 'topic_authorization':
      return {
        cause: `not authorized: the principal may not describe or ${verb} topics ${topics}`,
        check: `ACLs on the broker (Describe and ${verb === 'read' ? 'Read' : 'Write'} on each topic: docs/kafka.md), and ${ctx.topicSetting}`,
      };
    case 'group_authorization':
      return {
        cause: `not authorized: the principal may not use consumer groups prefixed "${ctx.groupPrefix}."`,
        check: `ACLs on the broker (Read on groups with the prefix: docs/kafka.md), or KAFKA_GROUP_PREFIX`,
      };
    case 'cluster_authorization':
      return {
        cause: 'not authorized: the request needs a cluster permission',
        check: 'ACLs on the broker (docs/kafka.md); nothing the gateway does by default needs one',
      };
    case 'unknown_topic':
      return {
        cause: `a topic does not exist: ${topics}`,
        check: `${ctx.topicSetting} (spelling), or create the topic`,
      };
    case 'unreachable':
      return {
        cause: 'no broker could be reached',
        check: 'KAFKA_BROKERS (host and port), network and firewalls, KAFKA_CONNECT_TIMEOUT_MS',
      };
    default:
      return {
        cause: `the Kafka client failed: ${(s.messages[0] ?? 'unknown error').slice(0, 200)}`,
        check: 'the err field',
      };
  }
}

/** Classifies a Kafka client error; the first matching rule wins (TLS before SASL before authorization). */
export function classifyKafkaError(err: unknown, ctx: FailureContext): KafkaFailure {
  const s = signals(err);
  const text = s.messages.join(' | ');
  const reason = RULES.find((r) => r.test(s, text))?.reason ?? 'other';
  return { reason, ...explain(reason, ctx, s), detail: (s.messages[0] ?? String(err)).slice(0, 500) };
}
