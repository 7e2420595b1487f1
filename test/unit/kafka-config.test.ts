/**
 * Issue 12 without a broker: connection strings as pasted, TLS/SASL settings checked at start-up
 * (secrets never echoed), secrets read from files again when they change, OAUTHBEARER token
 * output, and the failure classification of the errors kafkajs and Node really produce.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { BrokerListError, parseBrokerList } from '../../gateway/config/kafka-brokers.ts';
import { ConfigError } from '../../gateway/config/load.ts';
import { promKafkaMetrics } from '../../gateway/observability/kafka-metrics.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { GatewayMetrics } from '../../gateway/observability/metrics.ts';
import { classifyKafkaError, type FailureContext } from '../../gateway/source/kafka-failure.ts';
import { KafkaHealth } from '../../gateway/source/kafka-health.ts';
import { OAuthTokenSource, parseTokenOutput } from '../../gateway/source/oauth-token.ts';
import { FileSecret } from '../../gateway/source/secret-file.ts';
import { loadConfig } from '../../gateway/switchyard.ts';
import { unsecuredJwt } from '../../scripts/kafka-security.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-kafka-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail(`expected ${JSON.stringify(env)} to be refused`);
}

describe('KAFKA_BROKERS as people paste it', () => {
  const accepted: Array<[string, string[], string | null]> = [
    ['kafka:9092', ['kafka:9092'], null],
    ['a:1, b:2 ,c:3,', ['a:1', 'b:2', 'c:3'], null],
    ['SASL_SSL://pkc-1.aws.confluent.cloud:9092', ['pkc-1.aws.confluent.cloud:9092'], 'SASL_SSL'],
    ['sasl_ssl://b-1.msk:9096,SASL_SSL://b-2.msk:9096', ['b-1.msk:9096', 'b-2.msk:9096'], 'SASL_SSL'],
    ['[::1]:9092', ['[::1]:9092'], null],
    ['SSL://[fe80::1]:9093,SSL://10.0.0.1:9093', ['[fe80::1]:9093', '10.0.0.1:9093'], 'SSL'],
  ];
  for (const [text, brokers, protocol] of accepted)
    test(`accepts ${text}`, () => {
      const parsed = parseBrokerList(text);
      assert.deepEqual(
        parsed.brokers.map((b) => (b.host.includes(':') ? `[${b.host}]:${b.port}` : `${b.host}:${b.port}`)),
        brokers,
      );
      assert.equal(parsed.protocol, protocol);
      const c = loadConfig({
        KAFKA_BROKERS: text,
        ...(protocol?.startsWith('SASL')
          ? { KAFKA_SASL_MECHANISM: 'PLAIN', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' }
          : {}),
      });
      assert.deepEqual(c.kafka?.brokers, brokers);
      assert.equal(
        c.kafka?.tls !== null,
        protocol === 'SSL' || protocol === 'SASL_SSL',
        'TLS follows the prefix',
      );
    });

  const refused: Array<[string, RegExp]> = [
    ['kafka', /no port; write kafka:9092/],
    ['::1:9092', /needs brackets around it; write \[::1\]:9092/],
    ['[::1]', /no port; write \[::1\]:9092/],
    ['https://kafka:9092', /not a Kafka listener; write host:port/],
    ['kafka://kafka:9092', /not a Kafka listener/],
    ['a:1 b:2', /spaces inside an entry; separate brokers with commas/],
    ['a:99999', /port must be 1-65535/],
    ['SSL://a:1,SASL_SSL://b:2', /mixed listener prefixes/],
    [',', /no broker given/],
  ];
  for (const [text, message] of refused)
    test(`refuses ${JSON.stringify(text)} saying what to write`, () => {
      assert.throws(
        () => parseBrokerList(text),
        (e: unknown) => e instanceof BrokerListError && message.test(e.message),
      );
      const problems = problemsOf({ KAFKA_BROKERS: text });
      assert.ok(
        problems.some((p) => p.startsWith('KAFKA_BROKERS: ') && message.test(p)),
        problems.join('\n'),
      );
    });
});

describe('TLS and SASL settings are checked at start-up', () => {
  test('a SASL_SSL:// prefix needs a mechanism; a contradicting KAFKA_TLS is named', () => {
    assert.match(
      problemsOf({ KAFKA_BROKERS: 'SASL_SSL://k:9092' }).join('\n'),
      /KAFKA_SASL_MECHANISM: required by the SASL_SSL:\/\/ prefix/,
    );
    assert.match(
      problemsOf({ KAFKA_BROKERS: 'SSL://k:9092', KAFKA_TLS: 'false' }).join('\n'),
      /KAFKA_TLS: false contradicts the SSL:\/\/ prefix/,
    );
    assert.match(
      problemsOf({
        KAFKA_BROKERS: 'SSL://k:9092',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
      }).join('\n'),
      /write SASL_SSL:\/\/host:port/,
    );
  });

  test('mechanisms need their credentials; the value and its _FILE are exclusive', () => {
    const p = problemsOf({ KAFKA_BROKERS: 'k:9092', KAFKA_SASL_MECHANISM: 'scram-sha-512' }).join('\n');
    assert.match(p, /KAFKA_SASL_USERNAME: required by KAFKA_SASL_MECHANISM=scram-sha-512/);
    assert.match(p, /KAFKA_SASL_PASSWORD: required/);
    assert.match(
      problemsOf({
        KAFKA_BROKERS: 'k:9092',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
        KAFKA_SASL_PASSWORD_FILE: file('pw', 'p'),
      }).join('\n'),
      /set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both/,
    );
    assert.match(
      problemsOf({ KAFKA_BROKERS: 'k:9092', KAFKA_SASL_MECHANISM: 'oauthbearer' }).join('\n'),
      /exactly one of KAFKA_SASL_OAUTH_TOKEN_FILE or KAFKA_SASL_OAUTH_TOKEN_COMMAND/,
    );
    assert.match(
      problemsOf({ KAFKA_BROKERS: 'k:9092', KAFKA_SASL_MECHANISM: 'gssapi' }).join('\n'),
      /expected plain, scram-sha-256/,
    );
    assert.match(
      problemsOf({ KAFKA_BROKERS: 'k:9092', KAFKA_SASL_USERNAME: 'u' }).join('\n'),
      /KAFKA_SASL_MECHANISM is not/,
    );
  });

  test('files are checked: missing, unreadable PEM, TLS settings while TLS is off', () => {
    assert.match(
      problemsOf({
        KAFKA_BROKERS: 'k:9092',
        KAFKA_TLS: 'true',
        KAFKA_TLS_CA_FILE: join(dir, 'nope.pem'),
      }).join('\n'),
      /KAFKA_TLS_CA_FILE: cannot read .*nope\.pem \(ENOENT\)/,
    );
    assert.match(
      problemsOf({
        KAFKA_BROKERS: 'k:9092',
        KAFKA_TLS: 'true',
        KAFKA_TLS_CA_FILE: file('bad.pem', 'not a certificate'),
      }).join('\n'),
      /no usable PEM certificate/,
    );
    assert.match(
      problemsOf({ KAFKA_BROKERS: 'k:9092', KAFKA_TLS_CA_FILE: file('ca.pem', 'x') }).join('\n'),
      /KAFKA_TLS_CA_FILE: set, but TLS is off; set KAFKA_TLS=true/,
    );
    assert.match(
      problemsOf({ KAFKA_BROKERS: 'k:9092', KAFKA_TLS: 'yes', KAFKA_TLS_CERT_FILE: file('c.pem', 'x') }).join(
        '\n',
      ),
      /needs both KAFKA_TLS_CERT_FILE and KAFKA_TLS_KEY_FILE/,
    );
    assert.match(
      problemsOf({ KAFKA_BROKERS: 'k:9092', KAFKA_TLS: 'maybe' }).join('\n'),
      /KAFKA_TLS: expected true or false/,
    );
  });

  test('secrets are never echoed in problems', () => {
    const secret = 'hunter2-very-secret';
    const problems = problemsOf({
      KAFKA_BROKERS: 'k:9092',
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: secret,
      KAFKA_SASL_PASSWORD: secret,
      KAFKA_SASL_PASSWORD_FILE: file('pw2', secret),
      KAFKA_TLS_KEY_PASSWORD: secret,
    });
    assert.ok(problems.length > 0);
    assert.ok(!problems.join('\n').includes(secret), problems.join('\n'));
    assert.ok(
      !problemsOf({ KAFKA_BROKERS: 'k:9092', KAFKA_SASL_PASSWORD: '' + 'x'.repeat(20000) })
        .join('')
        .includes('xxxx'),
    );
  });

  test('a complete SASL_SSL set-up; the group prefix defaults to the client id', () => {
    const c = loadConfig({
      KAFKA_BROKERS: 'SASL_SSL://k:9092',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'reader',
      KAFKA_SASL_PASSWORD_FILE: file('pw3', 'secret\n'),
      KAFKA_CLIENT_ID: 'gw',
    });
    assert.deepEqual(c.kafka?.sasl, {
      mechanism: 'scram-sha-512',
      username: { value: 'reader' },
      password: { file: join(dir, 'pw3') },
    });
    assert.equal(c.kafka?.tls?.checkHostname, true, 'host names are checked unless switched off');
    assert.equal(c.kafka?.groupPrefix, 'gw');
    assert.equal(
      loadConfig({ KAFKA_BROKERS: 'k:1', KAFKA_GROUP_PREFIX: 'team.sy' }).kafka?.groupPrefix,
      'team.sy',
    );
    assert.equal(
      loadConfig({ KAFKA_BROKERS: 'k:1' }).rollout.createTopic,
      false,
      'topics are never created unless asked',
    );
    assert.equal(loadConfig({ KAFKA_BROKERS: 'k:1', ROLLOUT_TOPIC: 'none' }).rollout.topic, null);
    const flags = loadConfig({ KAFKA_BROKERS: 'SSL://k:1' }, ['--kafka-tls-check-hostname', 'false']);
    assert.equal(flags.kafka?.tls?.checkHostname, false);
  });
});

describe('secrets and tokens from files', () => {
  test('a secret file is read again when it changes, and its last content survives a bad moment', () => {
    const p = file('rotating', 'one\n');
    const errors: string[] = [];
    const s = new FileSecret(p, (e) => errors.push(e.message));
    assert.equal(s.read(), 'one');
    writeFileSync(p, 'two-longer\n');
    assert.equal(s.read(), 'two-longer');
    rmSync(p);
    assert.equal(s.read(), 'two-longer');
    assert.equal(errors.length, 1);
  });

  test('token command output: raw JWT (lifetime from exp) or JSON', () => {
    const jwt = unsecuredJwt('reader', 600, 1_000_000);
    assert.deepEqual(parseTokenOutput(`${jwt}\n`, 0), { token: jwt, expiresAt: 1_000_000 + 600_000 });
    assert.deepEqual(parseTokenOutput('{"access_token":"abc","expires_in":60}', 5), {
      token: 'abc',
      expiresAt: 60_005,
    });
    assert.deepEqual(parseTokenOutput('{"token":"t","expiryTime":42}', 0), { token: 't', expiresAt: 42 });
    assert.throws(() => parseTokenOutput('{"nothing":1}', 0), /no access_token/);
  });

  test('a token command is run again only when the token is near its end; failures name the setting', async () => {
    const counter = file('runs', '');
    let now = 0;
    const src = new OAuthTokenSource(
      { tokenFile: null, tokenCommand: `echo x >> ${counter}; echo '{"token":"t","expires_in":100}'` },
      createLogger('silent'),
      () => now,
    );
    assert.equal(await src.token(), 't');
    now = 50_000;
    assert.equal(await src.token(), 't');
    assert.equal(readFileSync(counter, 'utf8').trim().split('\n').length, 1);
    now = 81_000;
    await src.token();
    assert.equal(readFileSync(counter, 'utf8').trim().split('\n').length, 2);
    const bad = new OAuthTokenSource(
      { tokenFile: null, tokenCommand: 'echo denied >&2; exit 3' },
      createLogger('silent'),
    );
    await assert.rejects(bad.token(), /KAFKA_SASL_OAUTH_TOKEN_COMMAND failed: denied/);
  });
});

describe('failure classification', () => {
  const ctx: FailureContext = {
    tls: true,
    sasl: 'scram-sha-512',
    topics: ['live.orders'],
    groupPrefix: 'sy',
    topicSetting: 'STREAMS',
  };
  // Shapes as kafkajs 2.2.4 builds them (seen against the test broker).
  const conn = (message: string, code?: string) =>
    Object.assign(new Error('retries exceeded'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      cause: Object.assign(new Error(`Connection error: ${message}`), {
        name: 'KafkaJSConnectionError',
        code,
      }),
    });
  const protocol = (type: string, message: string) =>
    Object.assign(new Error(message), { name: 'KafkaJSProtocolError', type });
  const cases: Array<[unknown, string, RegExp]> = [
    [conn('certificate has expired', 'CERT_HAS_EXPIRED'), 'tls_expired', /renew/],
    [
      conn("Hostname/IP does not match certificate's altnames: Host: localhost."),
      'tls_hostname',
      /KAFKA_TLS_CHECK_HOSTNAME=false only for test clusters/,
    ],
    [conn('self-signed certificate in certificate chain'), 'tls_unknown_ca', /KAFKA_TLS_CA_FILE/],
    [
      conn('error:0A000412:SSL routines:ssl3_read_bytes:sslv3 alert bad certificate'),
      'tls_client_certificate',
      /KAFKA_TLS_CERT_FILE/,
    ],
    [conn('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED'), 'unreachable', /KAFKA_BROKERS/],
    [
      Object.assign(new Error('SASL SCRAM SHA512 authentication failed: invalid credentials'), {
        name: 'KafkaJSSASLAuthenticationError',
      }),
      'authentication',
      /KAFKA_SASL_PASSWORD/,
    ],
    [
      protocol('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access topics: [Topic authorization failed]'),
      'topic_authorization',
      /Describe and Read/,
    ],
    [
      protocol('GROUP_AUTHORIZATION_FAILED', 'Not authorized to access group: Group authorization failed'),
      'group_authorization',
      /KAFKA_GROUP_PREFIX/,
    ],
    [
      protocol('UNKNOWN_TOPIC_OR_PARTITION', 'This server does not host this topic-partition'),
      'unknown_topic',
      /STREAMS/,
    ],
    [
      Object.assign(new Error('Closed connection'), { name: 'KafkaJSConnectionClosedError' }),
      'connection_closed',
      /KAFKA_BROKERS|KAFKA_SASL_MECHANISM/,
    ],
    [new Error('something else'), 'other', /err field/],
  ];
  for (const [err, reason, check] of cases)
    test(`${reason}: ${(err as Error).message.slice(0, 40)}`, () => {
      const f = classifyKafkaError(err, ctx);
      assert.equal(f.reason, reason);
      assert.match(f.check, check);
    });

  test('the health tracker logs a reason once, counts every failure, and clears on success', async () => {
    const lines: string[] = [];
    const logger = createLogger('debug', { write: (l: string) => lines.push(l) } as never);
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const health = new KafkaHealth(
      { tls: null, sasl: null, groupPrefix: 'sy' },
      { logger, metrics: promKafkaMetrics(metrics) },
    );
    health.describe('source', ['t1'], 'STREAMS');
    const refused = conn('connect ECONNREFUSED 127.0.0.1:1', 'ECONNREFUSED');
    health.failed('source', refused);
    health.failed('source', refused);
    assert.equal(health.problem('source')?.reason, 'unreachable');
    assert.equal(health.problem('source')?.count, 2);
    const text = await metrics.render();
    assert.match(text, /switchyard_kafka_failures_total\{component="source",reason="unreachable"\} 2/);
    assert.match(text, /switchyard_kafka_problem\{component="source",reason="unreachable"\} 1/);
    health.recovered('source');
    assert.equal(health.problem('source'), null);
    assert.doesNotMatch(await metrics.render(), /switchyard_kafka_problem\{/);
    const warns = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    assert.equal(warns.length, 1, 'one warning for two failures with the same reason');
    assert.match(warns[0].msg, /kafka source: no broker could be reached; check KAFKA_BROKERS/);
  });

  test('an unexplained failure during an explained one keeps the diagnosis, for a minute', async () => {
    const lines: string[] = [];
    const logger = createLogger('debug', { write: (l: string) => lines.push(l) } as never);
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    let now = 1_000_000;
    const health = new KafkaHealth(
      { tls: null, sasl: { mechanism: 'scram-sha-512' }, groupPrefix: 'sy' } as never,
      { logger, metrics: promKafkaMetrics(metrics), now: () => now },
    );
    health.describe('source', ['t1'], 'STREAMS');
    const refusedLogin = Object.assign(new Error('SASL SCRAM SHA512 authentication failed'), {
      name: 'KafkaJSSASLAuthenticationError',
    });
    const timedOut = Object.assign(new Error('Request Fetch(key: 1, version: 11) timed out'), {
      name: 'KafkaJSRequestTimeoutError',
    });
    health.failed('source', refusedLogin);
    now += 5_000;
    health.failed('source', timedOut);
    assert.equal(
      health.problem('source')?.reason,
      'authentication',
      'the re-login refusal still explains it',
    );
    assert.equal(health.problem('source')?.count, 2);
    assert.equal(health.problem('source')?.since, 1_000_000);
    const text = await metrics.render();
    assert.match(
      text,
      /switchyard_kafka_failures_total\{component="source",reason="other"\} 1/,
      'still counted',
    );
    assert.match(text, /switchyard_kafka_problem\{component="source",reason="authentication"\} 1/);
    assert.doesNotMatch(text, /switchyard_kafka_problem\{component="source",reason="other"\}/);
    now += 60_000;
    health.failed('source', timedOut);
    assert.equal(health.problem('source')?.reason, 'other', 'a minute without the refusal: news again');
    const warns = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40);
    assert.deepEqual(
      warns.map((w) => w.reason),
      ['authentication', 'other'],
    );
  });
});
