/**
 * The client kit in Node, without a browser (EventSource from the `eventsource` package),
 * against a whole gateway on a MemorySource: both transports end in the same state, the
 * rollout moves kits live in both directions, a buffering proxy or a failing stream makes the
 * kit poll (honouring Retry-After) and it streams again later, a dropped stream resumes from
 * the last event id, and latency reports reach the gateway's histograms.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EventSource } from 'eventsource';
import { type ConnectOptions, connect, type KitHandle } from '../../compat/client/connect.ts';
import { EMPTY_STATE, reduce } from '../../compat/client/reducer.ts';
import type { ClientState, EventSourceConstructor, KitStatus } from '../../compat/client/types.ts';
import { startProxy } from '../helpers/client-proxy.ts';
import { type Teardown, WAIT_GUARD_MS } from '../helpers/sse-client.ts';
import { type Fixture, startFixture, total, until } from './core-fixture.ts';

const ENV = { POLL_INTERVAL_MS: '150', RETRY_MS: '200', ROLLOUT_PERCENT: '0', RATE_LIMIT_PER_SECOND: '0' };
const STREAMS = ['orders', 'totals'];

/** A kit with awaitable state and status. */
interface TestKit {
  readonly handle: KitHandle;
  readonly statuses: KitStatus[];
  waitState(pred: (s: ClientState) => boolean, what: string): Promise<void>;
  waitStatus(pred: (s: KitStatus) => boolean, what: string): Promise<KitStatus>;
}

function startKit(t: Teardown, base: string, opts: Partial<ConnectOptions>): TestKit {
  const statuses: KitStatus[] = [];
  const wake: Array<() => void> = [];
  const notify = () => {
    for (const w of wake.splice(0)) w();
  };
  const handle = connect({
    baseUrl: base,
    streams: STREAMS,
    EventSource: EventSource as unknown as EventSourceConstructor,
    telemetry: false,
    ...opts,
    onState: notify,
    onStatus: (s) => {
      statuses.push(s);
      notify();
    },
  });
  t.after(() => handle.close());
  const wait = async <T>(check: () => T | undefined, what: string): Promise<T> => {
    const deadline = Date.now() + WAIT_GUARD_MS;
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      const left = deadline - Date.now();
      if (left <= 0) {
        const last = statuses.slice(-4).map((s) => `${s.transport}/${s.phase}/${s.reason}/${s.lastError}`);
        throw new Error(`timed out waiting for ${what}; statuses: ${last.join(' | ')}`);
      }
      // Wakes on the kit's next state or status, or re-checks after a while (gateway-side changes).
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 100));
        wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  };
  return {
    handle,
    statuses,
    waitState: (pred, what) => wait(() => (pred(handle.state) ? true : undefined), what).then(() => {}),
    waitStatus: (pred, what) => wait(() => (pred(handle.status) ? handle.status : undefined), what),
  };
}

/** The gateway's state now, as a poll would bring it, in plain objects. */
async function gatewayState(f: Fixture): Promise<ClientState> {
  const body = await (await fetch(`${f.url}/v1/snapshot?streams=${STREAMS.join(',')}`)).json();
  return plain(reduce(EMPTY_STATE, [{ type: 'poll', body }]));
}

const plain = (s: ClientState): ClientState => JSON.parse(JSON.stringify(s));

/** Produces `n` upserts over 20 keys and `n` orders. */
function burst(f: Fixture, n: number, tag: string): void {
  for (let i = 0; i < n; i++) {
    f.source.produce('topic.totals', [{ key: `k${i % 20}`, value: total(i, { tag }) }]);
    f.source.produce('topic.orders', [{ key: `${tag}-${i}`, value: JSON.stringify({ i, tag }) }]);
  }
}

async function caughtUp(f: Fixture, ...kits: TestKit[]): Promise<ClientState> {
  const want = await gatewayState(f);
  for (const k of kits) await k.waitState((s) => s.position === want.position, `position ${want.position}`);
  return want;
}

describe('client kit in Node', { timeout: 60_000 }, () => {
  test('a streaming and a polling kit end with identical state; both report latency', async (t) => {
    const f = await startFixture(t, { env: ENV });
    await f.ctx.rollout.update({ percent: 0, allow: ['streamer'] });
    const telemetry = { sampleRate: 1, maxBatch: 5 };
    const streamer = startKit(t, f.url, { clientId: 'streamer', telemetry });
    const poller = startKit(t, f.url, { clientId: 'poller', telemetry });
    await streamer.waitStatus((s) => s.transport === 'sse' && s.phase === 'live', 'streamer live');
    await poller.waitStatus((s) => s.transport === 'poll' && s.phase === 'live', 'poller live');
    assert.equal(streamer.handle.status.reason, 'allow_list');
    assert.equal(poller.handle.status.reason, 'rollout');

    burst(f, 200, 'a');
    const want = await caughtUp(f, streamer, poller);
    assert.deepStrictEqual(plain(streamer.handle.state), want);
    assert.deepStrictEqual(plain(poller.handle.state), want);
    assert.equal(Object.keys((want.streams.totals as { entries: object }).entries).length, 20);

    // Latency reports reached the per-transport histogram (sampled at 1, flushed every 5).
    const count = async (transport: string) => {
      const text = await (await fetch(`${f.url}/metrics`)).text();
      return Number(
        new RegExp(`switchyard_client_latency_seconds_count\\{transport="${transport}"\\} (\\d+)`).exec(
          text,
        )?.[1] ?? 0,
      );
    };
    await streamer.waitState(() => true, 'tick');
    for (const transport of ['sse', 'poll']) {
      const deadline = Date.now() + WAIT_GUARD_MS;
      while ((await count(transport)) === 0) {
        assert.ok(Date.now() < deadline, `no ${transport} latency reported`);
        burst(f, 5, `t-${transport}`);
        await caughtUp(f, streamer, poller);
      }
    }
  });

  test('the rollout moves a kit to polling (control event) and back to streaming (recheck), live', async (t) => {
    const f = await startFixture(t, { env: ENV });
    await f.ctx.rollout.update({ percent: 100, recheckAfterMs: 1000 });
    const kit = startKit(t, f.url, { clientId: 'mover' });
    await kit.waitStatus((s) => s.transport === 'sse' && s.phase === 'live', 'streaming');
    burst(f, 20, 'before');
    await caughtUp(f, kit);

    await f.ctx.rollout.update({ percent: 0, recheckAfterMs: 1000 });
    const polled = await kit.waitStatus((s) => s.transport === 'poll', 'moved to polling');
    assert.equal(polled.reason, 'control:rollout');
    await until(() => f.ctx.hub.size === 0, 'the kit closing its stream');
    burst(f, 20, 'while-polling');
    const want = await caughtUp(f, kit);
    assert.deepStrictEqual(plain(kit.handle.state), want);

    await f.ctx.rollout.update({ percent: 100, recheckAfterMs: 1000 });
    const back = await kit.waitStatus((s) => s.transport === 'sse' && s.phase === 'live', 'streaming again');
    assert.equal(back.reason, 'rollout');
    burst(f, 20, 'after');
    const after = await caughtUp(f, kit);
    assert.deepStrictEqual(plain(kit.handle.state), after);
  });

  test('lifting the kill switch brings polling kits back at their next poll, not at their recheck', async (t) => {
    const f = await startFixture(t, { env: ENV });
    // An hour between rechecks: only the rules version on the polls can bring the kit back in time.
    await f.ctx.rollout.update({ percent: 100, recheckAfterMs: 3_600_000 });
    const kit = startKit(t, f.url, { clientId: 'lifted' });
    await kit.waitStatus((s) => s.transport === 'sse' && s.phase === 'live', 'streaming');
    await f.ctx.rollout.update({ killSwitch: true }, { merge: true });
    const polled = await kit.waitStatus((s) => s.transport === 'poll', 'moved to polling');
    assert.equal(polled.reason, 'control:kill_switch');
    await f.ctx.rollout.update({ killSwitch: false }, { merge: true });
    const back = await kit.waitStatus((s) => s.transport === 'sse' && s.phase === 'live', 'streaming again');
    assert.equal(back.reason, 'rollout');
  });

  test('a buffering proxy makes the kit poll; it streams again once the path is clear', async (t) => {
    const f = await startFixture(t, { env: ENV });
    await f.ctx.rollout.update({ percent: 100 });
    let buffering = true;
    const proxy = await startProxy(
      f.url,
      (path) => (buffering && path.startsWith('/v1/stream') ? 'buffer' : 'pass'),
      t,
    );
    const kit = startKit(t, proxy.url, {
      clientId: 'behind-proxy',
      snapshotTimeoutMs: 500,
      streamRetryMs: 750,
      maxStreamRetryMs: 1500,
    });
    const fell = await kit.waitStatus((s) => s.transport === 'poll', 'fallback');
    assert.equal(fell.reason, 'fallback:no_snapshot');
    burst(f, 30, 'p');
    await caughtUp(f, kit);
    // The retry finds the stream still buffered: polling goes on, with a longer wait next time.
    await kit.waitStatus((s) => s.transport === 'sse', 'stream retried');
    await kit.waitStatus((s) => s.transport === 'poll', 'second fallback');
    buffering = false;
    await kit.waitStatus(
      (s) => s.transport === 'sse' && s.phase === 'live',
      'streaming through the fixed proxy',
    );
    burst(f, 30, 'q');
    const want = await caughtUp(f, kit);
    assert.deepStrictEqual(plain(kit.handle.state), want);
  });

  test('failing streams back off, honour Retry-After, then fall back to polling', async (t) => {
    const f = await startFixture(t, { env: ENV });
    await f.ctx.rollout.update({ percent: 100 });
    const proxy = await startProxy(
      f.url,
      (path) => (path.startsWith('/v1/stream') ? { status: 503, retryAfter: 1 } : 'pass'),
      t,
    );
    const kit = startKit(t, proxy.url, {
      clientId: 'refused',
      maxErrors: 3,
      reconnectBaseMs: 20,
      streamRetryMs: 60_000,
    });
    const fell = await kit.waitStatus((s) => s.transport === 'poll', 'fallback after errors');
    assert.equal(fell.reason, 'fallback:errors');
    const attempts = proxy.log.filter((r) => r.path.startsWith('/v1/stream')).map((r) => r.at);
    assert.equal(attempts.length, 3, 'three attempts, then polling');
    for (let i = 1; i < attempts.length; i++)
      assert.ok(
        attempts[i]! - attempts[i - 1]! >= 950,
        `attempt ${i} came ${attempts[i]! - attempts[i - 1]!} ms later`,
      );
    burst(f, 10, 'x');
    await caughtUp(f, kit);
  });

  test('a dropped stream resumes from the last event id, without a new snapshot', async (t) => {
    const f = await startFixture(t, { env: ENV });
    await f.ctx.rollout.update({ percent: 100 });
    const kit = startKit(t, f.url, { clientId: 'resumer' });
    await kit.waitStatus((s) => s.transport === 'sse' && s.phase === 'live', 'streaming');
    burst(f, 10, 'one');
    await caughtUp(f, kit);
    for (const sub of [...f.ctx.hub.subscribers()]) sub.end();
    burst(f, 10, 'two');
    const want = await caughtUp(f, kit);
    assert.deepStrictEqual(plain(kit.handle.state), want);
    const metrics = await (await fetch(`${f.url}/metrics`)).text();
    assert.match(metrics, /switchyard_sse_connects_total\{kind="replay"\} 1/);
    assert.match(metrics, /switchyard_sse_connects_total\{kind="fresh"\} 1/);
    assert.equal(kit.handle.status.transport, 'sse');
  });
});
