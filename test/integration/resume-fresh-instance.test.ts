/**
 * Issue 17, "resume onto any instance within the history window, counted from the instance's
 * start", on the real broker: a client reads instance A, A goes away, and the client resumes with
 * its Last-Event-ID on instance B, started fresh after A stopped. B must replay what the client
 * missed (no resync) for a feed, whose bootstrap reads only the last `maxItems` records per
 * partition unless the history window asks for more, and for a table, read whole. An id older
 * than HISTORY_SECONDS (records produced with old timestamps) still gets a `too_old` resync.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { formatEventId } from '../../gateway/cache/event-id.ts';
import type { GatewayContext } from '../../gateway/context.ts';
import { createGateway, startGateway } from '../../gateway/gateway.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { loadConfig } from '../../gateway/switchyard.ts';
import { closeKafkaHelpers, createTopic, kafkaBrokers, produce } from '../helpers/kafka.ts';
import { assertReadyWithin, serveGateway } from '../helpers/served-gateway.ts';
import { openSse, type SseEventItem, type Teardown } from '../helpers/sse-client.ts';

after(() => closeKafkaHelpers());

const PARTITIONS = 2;
const json = (e: SseEventItem) => JSON.parse(e.data) as Record<string, unknown>;
const label = (e: SseEventItem): string => `${json(e).stream}/${json(e).key}`;

interface Instance {
  ctx: GatewayContext;
  url: string;
  stop(): Promise<void>;
}

/** A gateway on the real broker over the given topics, ready, with a small count-only history. */
async function instance(t: Teardown, table: string, feed: string): Promise<Instance> {
  const config = loadConfig({
    KAFKA_BROKERS: kafkaBrokers().join(','),
    STREAMS: JSON.stringify([
      { name: 'totals', topic: table, mode: 'table' },
      { name: 'orders', topic: feed, mode: 'feed', maxItems: 5 },
    ]),
    // 5 updates by count: what a client needs after a restart must come from the time window.
    HISTORY_SIZE: '5',
    HISTORY_SECONDS: '60',
    HEARTBEAT_MS: '1000',
  });
  const ctx = createGateway(config, { logger: createLogger('silent') });
  await startGateway(ctx);
  const { url, stop } = await serveGateway(t, ctx);
  await assertReadyWithin(ctx, 30_000);
  return { ctx, url, stop };
}

const numbered = (prefix: string, from: number, count: number, timestamp?: number) =>
  Array.from({ length: count }, (_, k) => ({
    key: `${prefix}${from + k}`,
    value: `{"n":${from + k}}`,
    partition: (from + k) % PARTITIONS,
    timestamp,
  }));

describe('resume onto a freshly started instance (issue 17)', () => {
  test('an id from before the restart replays on the fresh instance; one older than HISTORY_SECONDS resyncs', async (t) => {
    const table = await createTopic('resume-table', { partitions: PARTITIONS, compacted: true });
    const feed = await createTopic('resume-feed', { partitions: PARTITIONS });
    // Ten minutes old: outside every instance's window.
    await produce(feed, numbered('old', 0, 10, Date.now() - 600_000));

    const a = await instance(t, table, feed);
    const sse = await openSse(`${a.url}/v1/stream?streams=orders,totals`, { t });
    const snapshot = await sse.nextEvent();
    assert.equal(snapshot.event, 'snapshot');
    await produce(feed, numbered('o', 0, 12));
    await produce(table, numbered('k', 0, 12));
    const seen = await sse.takeUpdates(24);
    // The client read A up to its third update, then A went away. Whatever that mix, it is
    // behind the last `maxItems` (5) of a partition of the feed once 6 more orders follow.
    const cut = seen[2]!;
    const missed = seen.slice(3).map(label);
    sse.close();
    await a.stop();
    await produce(feed, numbered('o', 12, 6));
    await produce(table, numbered('k', 12, 6));

    const b = await instance(t, table, feed);
    const resumed = await openSse(`${b.url}/v1/stream?streams=orders,totals`, {
      t,
      headers: { 'last-event-id': cut.id! },
    });
    const first = await resumed.nextEvent();
    assert.equal(first.event, 'update', `a resume, not a resync: ${first.event} ${first.data.slice(0, 120)}`);
    const expected = [
      ...missed,
      ...numbered('o', 12, 6).map((m) => `orders/${m.key}`),
      ...numbered('k', 12, 6).map((m) => `totals/${m.key}`),
    ];
    const replay = [first, ...(await resumed.takeUpdates(expected.length - 1))];
    assert.deepEqual(replay.map(label).sort(), expected.sort(), 'every missed update once, nothing else');
    assert.equal(replay.at(-1)!.id, formatEventId(idPrefix(cut.id!), positions(b)));

    // An id inside the ten-minute-old records: B never read them, so it cannot replay from there.
    const old = formatEventId(idPrefix(cut.id!), ['1.1', positions(b)[1]!]);
    const stale = await openSse(`${b.url}/v1/stream?streams=orders,totals`, {
      t,
      headers: { 'last-event-id': old },
    });
    const resync = await stale.nextEvent();
    assert.equal(resync.event, 'snapshot');
    assert.equal(json(resync).reason, 'too_old');
    const items = (json(resync).streams as { orders: { items: Array<{ key: string }> } }).orders.items;
    assert.equal(items.length, 5);
    assert.ok(
      items.every((x) => /^o1[2-7]$/.test(x.key)),
      `the window holds the newest orders: ${items.map((x) => x.key)}`,
    );
  });
});

/** `<set>-<lineage>` of an id. */
const idPrefix = (id: string): string => id.slice(0, id.indexOf(':'));

/** Per stream of `orders,totals` (sorted), its position string on an instance. */
const positions = (i: Instance): string[] =>
  ['orders', 'totals'].map((n) => i.ctx.cache.streams.get(n)!.position);
