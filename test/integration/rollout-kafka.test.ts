/**
 * Rollout rules shared through a compacted Kafka control topic on the real broker: a change
 * made on one instance is in force on another within seconds, the last rules survive a restart
 * of every instance, a record that does not validate is skipped, and an unreachable broker
 * refuses the change (503) instead of pretending. Needs KAFKA_BROKERS (`npm test`).
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createLogger } from '../../gateway/observability/logger.ts';
import { KafkaRolloutStore } from '../../gateway/rollout/kafka-store.ts';
import type { CompiledRules } from '../../gateway/rollout/rules.ts';
import { defaultRules, parseRules, type RolloutRules } from '../../gateway/rollout/rules.ts';
import { closeKafkaHelpers, createTopic, kafkaBrokers, produce } from '../helpers/kafka.ts';
import type { Teardown } from '../helpers/sse-client.ts';

const logger = createLogger('silent');

function store(t: Teardown, topic: string, brokers = kafkaBrokers()): KafkaRolloutStore {
  const s = new KafkaRolloutStore({
    brokers,
    clientId: 'rollout-test',
    topic,
    defaults: defaultRules(0),
    logger,
    connectTimeoutMs: 1000,
    maxRetryMs: 1000,
  });
  t.after(() => s.stop());
  return s;
}

function rules(input: unknown): RolloutRules {
  const r = parseRules(input);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.rules;
}

/** Resolves with the first rules change that satisfies `pred`. */
function changed(s: KafkaRolloutStore, pred: (c: CompiledRules) => boolean): Promise<CompiledRules> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('rules did not arrive within 15 s')), 15_000);
    s.onChange((next) => {
      if (!pred(next)) return;
      clearTimeout(timer);
      resolve(next);
    });
  });
}

describe('rollout rules on a compacted Kafka topic', { timeout: 120_000 }, () => {
  after(closeKafkaHelpers);

  test('reach every instance within seconds and survive restarts', async (t) => {
    const topic = await createTopic('rollout', { compacted: true });
    const a = store(t, topic);
    const b = store(t, topic);
    a.start();
    b.start();
    assert.deepEqual(await Promise.all([a.whenLoaded(20_000), b.whenLoaded(20_000)]), [true, true]);
    assert.equal(b.current().version, 0);
    assert.equal(b.current().rules.percent, 0);

    const arrived = changed(b, (c) => c.rules.percent === 25);
    const started = Date.now();
    const published = await a.publish({ rules: rules({ percent: 25, allow: ['vip'] }), updatedAt: started });
    assert.equal(a.current().rules.percent, 25, 'in force at once where it was published');
    const seen = await arrived;
    const delay = Date.now() - started;
    assert.ok(delay < 5000, `reached the other instance in ${delay} ms`);
    assert.equal(seen.version, published.version, 'same version (the record offset + 1) everywhere');
    assert.ok(seen.allow.has('vip'));

    const killed = changed(b, (c) => c.rules.percent === 60);
    await a.publish({ rules: rules({ percent: 60, killSwitch: true }), updatedAt: Date.now() });
    await killed;
    // A record written by hand that does not validate is skipped: the rules in force stay.
    await produce(topic, [{ key: 'rules', value: '{"rules":{"percent":"lots"}}' }]);
    await produce(topic, [{ key: 'other', value: 'ignored' }]);
    await Promise.all([a.stop(), b.stop()]);

    // Every instance restarted: the last valid rules come back from the topic.
    const c = store(t, topic);
    c.start();
    assert.equal(await c.whenLoaded(20_000), true);
    assert.equal(c.current().rules.percent, 60);
    assert.equal(c.current().rules.killSwitch, true);
    assert.ok(c.current().version > published.version);
  });

  test('an unreachable broker refuses the change with CONTROL_UNAVAILABLE', async (t) => {
    const s = new KafkaRolloutStore({
      brokers: ['127.0.0.1:1'],
      clientId: 'rollout-test-down',
      topic: 'switchyard.rollout.unreachable',
      defaults: defaultRules(10),
      logger,
      connectTimeoutMs: 200,
      maxRetryMs: 200,
    });
    t.after(() => s.stop());
    s.start();
    assert.equal(await s.whenLoaded(300), false);
    assert.equal(s.current().rules.percent, 10, 'the defaults answer meanwhile');
    await assert.rejects(
      s.publish({ rules: rules({ percent: 50 }), updatedAt: Date.now() }),
      (err: Error) => {
        assert.equal((err as { code?: string }).code, 'CONTROL_UNAVAILABLE');
        return true;
      },
    );
    assert.equal(s.current().rules.percent, 10, 'nothing changed');
  });
});
