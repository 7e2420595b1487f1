/**
 * Issue 12 against the real broker's secure listeners (scripts/kafka-security.ts): the gateway
 * streams and serves polls through SASL_SSL (SCRAM-SHA-512, PLAIN, OAUTHBEARER), SASL_PLAINTEXT
 * (SCRAM-SHA-256) and mTLS with a least-privilege principal whose ACLs are exactly those
 * docs/kafka.md lists; every failure case is provoked and its log line, `/readyz` reason and
 * metric asserted; a SCRAM password rotated on the broker mid-run is picked up from its `_FILE`.
 *
 * The counterparts are Kafka's own: its TLS stack with openssl-made certificates, its SASL
 * servers, KRaft's StandardAuthorizer, and `kafka-configs` for the rotation.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import type { GatewayContext } from '../../gateway/context.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import type { KafkaFailureReason } from '../../gateway/source/kafka-failure.ts';
import { createGateway, loadConfig, startGateway } from '../../gateway/switchyard.ts';
import { unsecuredJwt } from '../../scripts/kafka-security.ts';
import {
  brokerSecurity,
  closeKafkaHelpers,
  createTopic,
  grantAcls,
  kafkaBrokers,
  produce,
  setTestScramPassword,
} from '../helpers/kafka.ts';
import { serveGateway } from '../helpers/served-gateway.ts';
import { httpGet, openSse, type Teardown } from '../helpers/sse-client.ts';
import { pollUntil } from '../helpers/wait.ts';

after(() => closeKafkaHelpers());

const sec = brokerSecurity();
const dir = mkdtempSync(join(tmpdir(), 'switchyard-kafka-security-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function secretFile(name: string, text: string): string {
  const p = join(dir, `${name}-${randomBytes(3).toString('hex')}`);
  writeFileSync(p, `${text}\n`);
  return p;
}

const prefix = () => `sy-${randomBytes(4).toString('hex')}`;

/** Polls `pred` every 100 ms until it holds (the states asserted here come from retries, not events). */
const eventually = (what: string, pred: () => boolean | Promise<boolean>, timeoutMs = 45_000) =>
  pollUntil(what, pred, { timeoutMs, intervalMs: 100 });

interface Gw {
  ctx: GatewayContext;
  url: string;
  logs: Array<Record<string, unknown>>;
  table: string;
  feed: string;
}

/**
 * Fresh topics (one table, one feed) and a gateway on them with `env` (TLS/SASL settings), its
 * JSON log lines captured. `grant`: the ACLs of the principal, or none (`null`).
 */
async function gateway(
  t: Teardown,
  env: Record<string, string>,
  opts: { principal?: string; grant?: 'reader' | 'no-topics' | 'no-group'; groupPrefix?: string } = {},
): Promise<Gw> {
  const table = await createTopic('sec-table', { compacted: true });
  const feed = await createTopic('sec-feed');
  const groupPrefix = opts.groupPrefix ?? prefix();
  if (opts.principal && opts.grant !== undefined) {
    await grantAcls(opts.principal, {
      read: opts.grant === 'no-topics' ? [] : [table, feed],
      groupPrefix: opts.grant === 'no-group' ? undefined : groupPrefix,
    });
  }
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const config = loadConfig({
    STREAMS: `totals:table:${table},orders:feed:${feed}`,
    KAFKA_GROUP_PREFIX: groupPrefix,
    KAFKA_CONNECT_TIMEOUT_MS: '2000',
    KAFKA_MAX_RETRY_MS: '1000',
    STALE_AFTER_MS: '1000',
    ROLLOUT_TOPIC: 'none',
    LEGACY_ROUTES: 'none',
    ...env,
  });
  const ctx = createGateway(config, {
    logger: createLogger('debug', sink),
    metrics: new GatewayMetrics({ defaultMetrics: false }),
  });
  await startGateway(ctx);
  const { url } = await serveGateway(t, ctx);
  return { ctx, url, logs, table, feed };
}

async function readyz(gw: Gw): Promise<Record<string, unknown>> {
  return JSON.parse((await httpGet(`${gw.url}/readyz`)).text) as Record<string, unknown>;
}

async function metric(gw: Gw, pattern: RegExp): Promise<boolean> {
  return pattern.test(await gw.ctx.metrics.render());
}

/** Streams and polls through the gateway: a produced record arrives on SSE and in the poll. */
async function streamsAndPolls(gw: Gw): Promise<void> {
  assert.ok(await gw.ctx.hub.waitUntil(() => gw.ctx.cache.isReady(), 45_000), 'gateway became ready');
  const sse = await openSse(`${gw.url}/v1/stream?streams=totals,orders`, { t: { after: () => {} } });
  try {
    assert.equal((await sse.nextEvent()).event, 'snapshot');
    const key = `k${randomBytes(3).toString('hex')}`;
    await produce(gw.table, [{ key, value: JSON.stringify({ n: 1 }) }]);
    await produce(gw.feed, [{ key, value: JSON.stringify({ n: 2 }) }]);
    await sse.takeUpdates(2, 30_000);
    const poll = JSON.parse((await httpGet(`${gw.url}/v1/snapshot?streams=totals,orders`)).text);
    assert.deepEqual(poll.streams.totals.entries[key].value, { n: 1 });
    assert.equal(poll.streams.orders.items[0].key, key);
  } finally {
    sse.close();
  }
  const r = await readyz(gw);
  assert.equal(r.ready, true);
  assert.equal(r.reason, null);
  assert.equal(r.sourceConnected, true);
  assert.ok(await metric(gw, /^switchyard_source_connected 1$/m));
}

/** Waits for the source to report `reason`; asserts the log line, `/readyz` and both metrics. */
async function failsWith(
  gw: Gw,
  reason: KafkaFailureReason,
  logPattern: RegExp,
  component = 'source',
): Promise<void> {
  await eventually(
    `${component} failing with ${reason}`,
    () => gw.ctx.kafkaHealth?.problem(component as 'source')?.reason === reason,
  ).catch((err: Error) => {
    const seen = gw.logs.filter((l) => (l.level as number) >= 40).map((l) => `${l.msg} (${l.err})`);
    const now = JSON.stringify(gw.ctx.kafkaHealth?.problem(component as 'source'));
    throw new Error(`${err.message}; problem now ${now}; warnings: ${seen.join(' | ')}`);
  });
  const warn = gw.logs.find((l) => l.level === 40 && l.reason === reason && l.kafkaComponent === component);
  assert.ok(
    warn,
    `a warning with reason ${reason}; got ${JSON.stringify(gw.logs.filter((l) => (l.level as number) >= 40).map((l) => l.msg))}`,
  );
  assert.match(String(warn.msg), logPattern);
  assert.equal(
    gw.logs.filter((l) => l.level === 40 && l.reason === reason && l.kafkaComponent === component).length,
    1,
    'said once, not on every retry',
  );
  const r = await readyz(gw);
  if (component === 'source') assert.equal(r.reason, reason);
  const k = (r.kafka as Array<Record<string, unknown>>).find((p) => p.component === component);
  assert.equal(k?.reason, reason);
  assert.ok(String(k?.check).length > 0);
  assert.ok(
    await metric(
      gw,
      new RegExp(
        `^switchyard_kafka_failures_total\\{component="${component}",reason="${reason}"\\} [1-9]`,
        'm',
      ),
    ),
  );
  assert.ok(
    await metric(
      gw,
      new RegExp(`^switchyard_kafka_problem\\{component="${component}",reason="${reason}"\\} 1$`, 'm'),
    ),
  );
  if (component === 'source') {
    assert.equal(r.sourceConnected, false);
    assert.ok(await metric(gw, /^switchyard_source_connected 0$/m));
  }
}

const ca = () => ({ KAFKA_TLS_CA_FILE: sec.caFile });
const reader = () => ({
  KAFKA_SASL_USERNAME: sec.reader.username,
  KAFKA_SASL_PASSWORD_FILE: secretFile('pw', sec.reader.password),
});
/** SASL_SSL with SCRAM-SHA-512 as the least-privilege `reader` (password from a _FILE). */
const saslSsl = () => ({
  KAFKA_BROKERS: `SASL_SSL://${sec.saslSslBrokers}`,
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  ...ca(),
  ...reader(),
});
/** The ACLs of User:reader on the fresh topics: what docs/kafka.md lists. */
const asReader = { principal: 'User:reader', grant: 'reader' } as const;

describe('streams and polls through each secure listener with a least-privilege principal', () => {
  test('SASL_SSL + SCRAM-SHA-512 (password from a _FILE), with the dead-letter topic', async (t) => {
    const dlq = await createTopic('sec-dlq');
    await grantAcls('User:reader', { write: [dlq] });
    // The mechanism in capitals here; the other tests write it in lower case.
    const gw = await gateway(
      t,
      { ...saslSsl(), KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', DLQ_TOPIC: dlq },
      asReader,
    );
    await streamsAndPolls(gw);
    // A rejected record is copied to the DLQ with the Write ACL on it alone.
    await produce(gw.feed, [{ key: 'bad', value: '{not json' }]);
    await eventually('the dead letter sent', () =>
      metric(gw, /switchyard_dead_letter_records_total\{result="sent"\} 1/),
    );
  });

  test('SASL_SSL + PLAIN', async (t) => {
    const gw = await gateway(
      t,
      {
        KAFKA_BROKERS: sec.saslSslBrokers,
        KAFKA_TLS: 'true',
        KAFKA_SASL_MECHANISM: 'plain',
        ...ca(),
        ...reader(),
      },
      asReader,
    );
    await streamsAndPolls(gw);
  });

  test('SASL_SSL + OAUTHBEARER (token from a file)', async (t) => {
    const gw = await gateway(
      t,
      {
        KAFKA_BROKERS: `SASL_SSL://${sec.saslSslBrokers}`,
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_SASL_OAUTH_TOKEN_FILE: secretFile('token', unsecuredJwt('reader')),
        ...ca(),
      },
      asReader,
    );
    await streamsAndPolls(gw);
  });

  test('SASL_PLAINTEXT + SCRAM-SHA-256, OAUTHBEARER token from a command', async (t) => {
    const gw = await gateway(
      t,
      {
        KAFKA_BROKERS: `SASL_PLAINTEXT://${sec.saslPlaintextBrokers}`,
        KAFKA_SASL_MECHANISM: 'scram-sha-256',
        ...reader(),
      },
      asReader,
    );
    await streamsAndPolls(gw);
    const oauth = await gateway(
      t,
      {
        KAFKA_BROKERS: `SASL_PLAINTEXT://${sec.saslPlaintextBrokers}`,
        KAFKA_SASL_MECHANISM: 'oauthbearer',
        KAFKA_SASL_OAUTH_TOKEN_COMMAND: `printf '{"access_token":"%s","expires_in":3600}' '${unsecuredJwt('reader')}'`,
      },
      asReader,
    );
    await streamsAndPolls(oauth);
  });

  test('SSL with a client certificate (mTLS); the principal is the certificate CN', async (t) => {
    const gw = await gateway(
      t,
      {
        KAFKA_BROKERS: `SSL://${sec.sslBrokers}`,
        ...ca(),
        KAFKA_TLS_CERT_FILE: sec.clientCertFile,
        KAFKA_TLS_KEY_FILE: sec.clientKeyFile,
      },
      { principal: `User:${sec.clientCertCn}`, grant: 'reader' },
    );
    await streamsAndPolls(gw);
  });

  test('the rollout store reads an existing rollout topic with Read alone (no CreateTopics)', async (t) => {
    const rollout = await createTopic('sec-rollout', { compacted: true });
    await grantAcls('User:reader', { read: [rollout] });
    const gw = await gateway(t, { ...saslSsl(), ROLLOUT_TOPIC: rollout }, asReader);
    await streamsAndPolls(gw);
    await eventually('rollout rules loaded', () => gw.ctx.rollout.state().loaded);
    assert.equal(gw.ctx.kafkaHealth?.problem('rollout'), null);
  });
});

test('an IPv6 bootstrap address ([::1]:port) works (kafkajs alone would split it at the first colon)', async (t) => {
  // A TCP relay on ::1 to the PLAINTEXT listener: the broker itself binds IPv4 only.
  const [host, port] = kafkaBrokers()[0]!.split(':');
  const sockets = new Set<Socket>();
  const relay = createServer((c) => {
    const up = connect(Number(port), host!);
    for (const s of [c, up]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    c.pipe(up).pipe(c);
    c.on('error', () => up.destroy());
    up.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '::1', r));
  t.after(() => {
    relay.close();
    for (const s of sockets) s.destroy();
  });
  const relayPort = (relay.address() as AddressInfo).port;
  const gw = await gateway(t, { KAFKA_BROKERS: `PLAINTEXT://[::1]:${relayPort}` });
  await streamsAndPolls(gw);
});

describe('failures that say what is wrong', () => {
  test('authentication failure', async (t) => {
    const gw = await gateway(t, {
      ...saslSsl(),
      KAFKA_SASL_PASSWORD_FILE: secretFile('wrong', 'not-the-password'),
    });
    await failsWith(
      gw,
      'authentication',
      /authentication failed.*SCRAM-SHA-512.*check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/,
    );
  });

  test('TLS: unknown CA', async (t) => {
    const gw = await gateway(t, { ...saslSsl(), KAFKA_TLS_CA_FILE: sec.otherCaFile });
    await failsWith(gw, 'tls_unknown_ca', /CA that is not trusted; check KAFKA_TLS_CA_FILE/);
  });

  test('TLS: wrong host name; KAFKA_TLS_CHECK_HOSTNAME=false lets a test cluster through', async (t) => {
    const wrongHost = sec.saslSslBrokers.replace('127.0.0.1', 'localhost');
    const gw = await gateway(t, { ...saslSsl(), KAFKA_BROKERS: `SASL_SSL://${wrongHost}` });
    await failsWith(gw, 'tls_hostname', /does not name the host connected to; check KAFKA_BROKERS/);
    const lax = await gateway(
      t,
      { ...saslSsl(), KAFKA_BROKERS: `SASL_SSL://${wrongHost}`, KAFKA_TLS_CHECK_HOSTNAME: 'false' },
      asReader,
    );
    await streamsAndPolls(lax);
    assert.ok(lax.logs.some((l) => l.level === 40 && /KAFKA_TLS_CHECK_HOSTNAME=false/.test(String(l.msg))));
  });

  test('TLS: expired broker certificate', async (t) => {
    const gw = await gateway(t, { KAFKA_BROKERS: `SSL://${sec.expiredBrokers}`, ...ca() });
    await failsWith(gw, 'tls_expired', /certificate has expired/);
  });

  test('TLS: mTLS listener without a client certificate', async (t) => {
    const gw = await gateway(t, { KAFKA_BROKERS: `SSL://${sec.sslBrokers}`, ...ca() });
    await failsWith(gw, 'tls_client_certificate', /client certificate.*check KAFKA_TLS_CERT_FILE/);
  });

  test('authorization: topics without Describe/Read', async (t) => {
    const gw = await gateway(t, saslSsl(), { principal: 'User:reader', grant: 'no-topics' });
    await failsWith(gw, 'topic_authorization', /may not describe or read topics .*sec-table.*check ACLs/);
  });

  test('authorization: no Read on the consumer group prefix', async (t) => {
    const gw = await gateway(t, saslSsl(), { principal: 'User:reader', grant: 'no-group' });
    await failsWith(
      gw,
      'group_authorization',
      /consumer groups prefixed "sy-[0-9a-f]+\."; check ACLs.*KAFKA_GROUP_PREFIX/,
    );
  });

  test('unknown topic', async (t) => {
    const missing = `sec-missing-${randomBytes(4).toString('hex')}`;
    await grantAcls('User:reader', { read: [missing] });
    const groupPrefix = prefix();
    await grantAcls('User:reader', { groupPrefix });
    const gw = await gateway(t, { ...saslSsl(), STREAMS: `totals:table:${missing}` }, { groupPrefix });
    await failsWith(gw, 'unknown_topic', /a topic does not exist: sec-missing-.*check STREAMS/);
  });

  test('unreachable broker', async (t) => {
    const gw = await gateway(t, { KAFKA_BROKERS: '127.0.0.1:1' });
    await failsWith(gw, 'unreachable', /no broker could be reached; check KAFKA_BROKERS/);
  });

  test('a SASL_SSL listener without SASL: not "connected" on the pre-login round trip', async (t) => {
    const gw = await gateway(t, { KAFKA_BROKERS: sec.saslSslBrokers, KAFKA_TLS: 'true', ...ca() });
    await failsWith(gw, 'connection_closed', /closed the connection.*check KAFKA_SASL_MECHANISM/);
    assert.equal((await readyz(gw)).stale, true);
  });

  test('the rollout store: a missing rollout topic is reported and never created unless asked', async (t) => {
    const rollout = `sec-rollout-missing-${randomBytes(3).toString('hex')}`;
    await grantAcls('User:reader', { read: [rollout] });
    const gw = await gateway(t, { ...saslSsl(), ROLLOUT_TOPIC: rollout }, asReader);
    await failsWith(gw, 'unknown_topic', /rollout: a topic does not exist/, 'rollout');
    await streamsAndPolls(gw); // the source is unaffected
  });
});

test('the dead-letter producer: no Write on DLQ_TOPIC is reported for the dlq component alone', async (t) => {
  const dlq = await createTopic('sec-dlq-denied');
  const gw = await gateway(t, { ...saslSsl(), DLQ_TOPIC: dlq }, asReader);
  await streamsAndPolls(gw);
  await produce(gw.feed, [{ key: 'bad', value: '{not json' }]);
  await failsWith(
    gw,
    'topic_authorization',
    /kafka dlq: not authorized: the principal may not describe or write topics sec-dlq-denied.*check ACLs.*Write.*DLQ_TOPIC/,
    'dlq',
  );
  assert.equal((await readyz(gw)).reason, null, 'the source is fine');
});

describe('a SCRAM password rotated on the broker mid-run', () => {
  test('is picked up from KAFKA_SASL_PASSWORD_FILE; meanwhile the last state is served, marked stale', async (t) => {
    const user = `rotor-${randomBytes(3).toString('hex')}`;
    const first = `first-${randomBytes(6).toString('hex')}`;
    const second = `second-${randomBytes(6).toString('hex')}`;
    await setTestScramPassword(user, first);
    const passwordFile = secretFile('rotating', first);
    const gw = await gateway(
      t,
      {
        KAFKA_BROKERS: `SASL_SSL://${sec.saslSslBrokers}`,
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: user,
        KAFKA_SASL_PASSWORD_FILE: passwordFile,
        ...ca(),
      },
      { principal: `User:${user}`, grant: 'reader' },
    );
    await streamsAndPolls(gw);

    // The broker's password changes; the gateway's sessions log in again within reauthMs
    // (KIP-368) and fail with the old one from the file.
    await setTestScramPassword(user, second);
    await failsWith(gw, 'authentication', /authentication failed/);
    await eventually('stale', async () => (await readyz(gw)).stale === true);
    const stalePoll = await httpGet(`${gw.url}/v1/snapshot?streams=totals`);
    assert.equal(stalePoll.status, 200);
    assert.ok(stalePoll.headers['x-switchyard-stale'], 'the poll is marked stale');
    assert.equal(
      Object.keys(JSON.parse(stalePoll.text).streams.totals.entries).length,
      1,
      'the last state is still served',
    );

    // The secret volume gets the new password: the next attempt logs in with it.
    writeFileSync(passwordFile, `${second}\n`);
    await eventually(
      'the source recovered',
      () => gw.ctx.kafkaHealth?.problem('source') === null && gw.ctx.source.status().connected,
      60_000,
    );
    assert.ok(gw.logs.some((l) => l.msg === 'kafka source: working again'));
    await produce(gw.table, [{ key: 'after', value: JSON.stringify({ rotated: true }) }]);
    await eventually('a record after the rotation is served', async () => {
      const poll = JSON.parse((await httpGet(`${gw.url}/v1/snapshot?streams=totals`)).text);
      return poll.streams.totals.entries.after !== undefined;
    });
  });
});
