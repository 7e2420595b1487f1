/**
 * The client kit's transport policy (compat/client/policy.ts), a pure state machine: each event
 * on its own, then random sequences of every event checked against invariants (one stream at
 * most, timers only where their mode needs them, late answers of an old mode ignored, a stopped
 * kit inert). No timers, no sockets: time and randomness are inputs.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DEFAULTS, type PolicySettings } from '../../compat/client/defaults.ts';
import {
  type AdviceResult,
  type Effect,
  initialState,
  type PolicyEnv,
  type PolicyEvent,
  type PolicyState,
  PROBE_DELAYS_MS,
  PROBE_EVERY_MS,
  step,
  type TimerName,
} from '../../compat/client/policy.ts';
import type { TransportAdvice } from '../../gateway/protocol/types.ts';

const SETTINGS: PolicySettings = { ...DEFAULTS, force: null };

function envOf(over: Partial<PolicyEnv> = {}): PolicyEnv {
  return { settings: SETTINGS, canStream: true, hasPosition: false, random: () => 0.5, ...over };
}

/** Runs events in order; returns the final state and every effect. `gen` 'current' is filled in. */
function run(
  events: Array<PolicyEvent | ((s: PolicyState) => PolicyEvent)>,
  env: PolicyEnv = envOf(),
  from: PolicyState = initialState(env.settings),
): { state: PolicyState; effects: Effect[]; last: readonly Effect[] } {
  let state = from;
  const effects: Effect[] = [];
  let last: readonly Effect[] = [];
  for (const e of events) {
    const r = step(env, state, typeof e === 'function' ? e(state) : e);
    state = r.state;
    last = r.effects;
    effects.push(...r.effects);
  }
  return { state, effects, last };
}

function advice(over: Partial<TransportAdvice> = {}): AdviceResult {
  return {
    ok: true,
    advice: {
      transport: 'sse',
      reason: 'rollout',
      clientId: 'c',
      bucket: 1,
      pollIntervalMs: 2000,
      recheckAfterMs: 30_000,
      percent: 100,
      rulesVersion: 3,
      provisional: false,
      ...over,
    },
  };
}

const cur =
  <E extends PolicyEvent>(f: (gen: number) => E) =>
  (s: PolicyState): E =>
    f(s.gen);
const choose = (r: AdviceResult) =>
  cur((gen) => ({ type: 'advice', gen, purpose: 'choose', result: r }) as const);
const recheck = (r: AdviceResult) =>
  cur((gen) => ({ type: 'advice', gen, purpose: 'recheck', result: r }) as const);
const fire = (timer: TimerName) => cur((gen) => ({ type: 'timer', gen, timer }) as const);
const fail = (at: number, gaveUp = false, retryAfterMs: number | null = null) =>
  cur((gen) => ({ type: 'failed', gen, at, gaveUp, status: null, retryAfterMs }) as const);
const snapshot = cur((gen) => ({ type: 'data', gen, snapshot: true }) as const);
const update = cur((gen) => ({ type: 'data', gen, snapshot: false }) as const);
const polledOk = (o: { intervalMs?: number; rulesVersion?: number; elapsedMs?: number } = {}) =>
  cur(
    (gen) =>
      ({
        type: 'polled',
        gen,
        outcome: {
          ok: true,
          intervalMs: o.intervalMs ?? null,
          rulesVersion: o.rulesVersion ?? null,
          elapsedMs: o.elapsedMs ?? 0,
        },
      }) as const,
  );

const START: PolicyEvent = { type: 'start' };
/** A kit streaming live (snapshot received). */
const STREAMING = [START, choose(advice()), snapshot];

function timersSet(effects: readonly Effect[]): Array<{ timer: TimerName; ms: number }> {
  return effects.flatMap((e) => (e.type === 'setTimer' ? [{ timer: e.timer, ms: e.ms }] : []));
}
function statuses(effects: readonly Effect[]) {
  return effects.flatMap((e) => (e.type === 'status' ? [e.status] : []));
}
function has(effects: readonly Effect[], type: Effect['type']): boolean {
  return effects.some((e) => e.type === type);
}

describe('transport policy: each event', () => {
  test('start asks /v1/transport; forced transports skip it', () => {
    const auto = run([START]);
    assert.equal(auto.state.mode, 'deciding');
    assert.deepEqual(auto.last.at(-1), { type: 'ask', gen: auto.state.gen, purpose: 'choose' });

    const poll = run([START], envOf({ settings: { ...SETTINGS, force: 'poll' } }));
    assert.equal(poll.state.mode, 'poll');
    assert.ok(!has(poll.effects, 'ask'));
    assert.deepEqual(statuses(poll.effects).at(-1), {
      transport: 'poll',
      phase: 'connecting',
      reason: 'forced',
      lastError: null,
    });

    const sse = run([START], envOf({ settings: { ...SETTINGS, force: 'sse' } }));
    assert.equal(sse.state.mode, 'sse');
    assert.deepEqual(sse.effects.at(-1), { type: 'openStream', gen: sse.state.gen, resume: false });
    assert.deepEqual(timersSet(sse.effects), [{ timer: 'watchdog', ms: DEFAULTS.snapshotTimeoutMs }]);
    assert.deepEqual(run([START, START]).state, run([START]).state, 'start is idempotent');
  });

  test('the advice chooses: sse (resuming a mirrored state), poll with a recheck, poll without EventSource', () => {
    const sse = run([START, choose(advice())], envOf({ hasPosition: true }));
    assert.equal(sse.state.mode, 'sse');
    assert.equal(sse.state.pollIntervalMs, 2000);
    assert.equal(sse.state.rulesVersion, 3);
    assert.deepEqual(sse.last.at(-1), { type: 'openStream', gen: sse.state.gen, resume: true });

    const poll = run([START, choose(advice({ transport: 'poll', reason: 'kill_switch' }))]);
    assert.equal(poll.state.mode, 'poll');
    assert.equal(poll.state.reason, 'kill_switch');
    assert.deepEqual(timersSet(poll.last), [{ timer: 'recheck', ms: 30_000 }]);
    assert.ok(has(poll.last, 'poll'));

    const none = run([START, choose(advice())], envOf({ canStream: false }));
    assert.equal(none.state.mode, 'poll');
    assert.equal(none.state.reason, 'no_eventsource');
    assert.deepEqual(timersSet(none.last), [{ timer: 'recheck', ms: 30_000 }]);
    const again = run([fire('recheck'), recheck(advice())], envOf({ canStream: false }), none.state);
    assert.equal(again.state.mode, 'poll');
    assert.deepEqual(timersSet(again.effects), [], 'asked once more, then never: it cannot stream');
  });

  test('a failed advice polls and asks again with backoff, no sooner than its Retry-After', () => {
    const r = run([START, choose({ ok: false, retryAfterMs: 45_000 })]);
    assert.equal(r.state.reason, 'transport_unavailable');
    assert.deepEqual(timersSet(r.last), [{ timer: 'recheck', ms: 45_000 }]);
    const again = run([fire('recheck'), recheck({ ok: false, retryAfterMs: null })], envOf(), r.state);
    assert.equal(again.state.adviceAttempt, 2);
    assert.deepEqual(timersSet(again.last), [{ timer: 'recheck', ms: 1250 }]); // backoff(1, 1000) at 0.5
  });

  test('the watchdog: a fresh stream without a snapshot falls back to polling; a resumed one is alive once open', () => {
    const fresh = run([START, choose(advice()), cur((gen) => ({ type: 'opened', gen })), fire('watchdog')]);
    assert.equal(fresh.state.mode, 'poll');
    assert.equal(fresh.state.reason, 'fallback:no_snapshot');
    assert.equal(fresh.state.fallbacks, 1);
    assert.ok(has(fresh.last, 'closeStream'));

    const resumed = run(
      [START, choose(advice()), cur((gen) => ({ type: 'opened', gen }))],
      envOf({ hasPosition: true }),
    );
    assert.ok(!resumed.state.timers.has('watchdog'));
    assert.deepEqual(resumed.last, [{ type: 'clearTimer', timer: 'watchdog' }]);
  });

  test('a snapshot is live and starts the clock probes; probes never touch the poll interval', () => {
    const r = run(STREAMING);
    assert.deepEqual(statuses(r.last).at(-1), {
      transport: 'sse',
      phase: 'live',
      reason: 'rollout',
      lastError: null,
    });
    assert.deepEqual(timersSet(r.last), [{ timer: 'probe', ms: PROBE_DELAYS_MS[0] }]);
    let s = r.state;
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const probe = run([fire('probe')], envOf(), s);
      assert.deepEqual(probe.last, [{ type: 'probe', gen: s.gen }], 'a probe is not an ask');
      const next = run([cur((gen) => ({ type: 'probed', gen }))], envOf(), probe.state);
      delays.push(timersSet(next.last)[0]!.ms);
      s = next.state;
    }
    assert.deepEqual(delays, [...PROBE_DELAYS_MS.slice(1), PROBE_EVERY_MS, PROBE_EVERY_MS, PROBE_EVERY_MS]);
    assert.equal(s.pollIntervalMs, 2000);
    assert.equal(
      run([snapshot], envOf(), s).last.filter((e) => e.type === 'setTimer').length,
      0,
      'one probe schedule',
    );
  });

  test('control: to poll at once with the interval and recheck it carries; an sse control is ignored', () => {
    const r = run([
      ...STREAMING,
      cur((gen) => ({
        type: 'control',
        gen,
        transport: 'poll',
        reason: 'kill_switch',
        pollIntervalMs: 700,
        rulesVersion: 9,
      })),
    ]);
    assert.equal(r.state.mode, 'poll');
    assert.equal(r.state.reason, 'control:kill_switch');
    assert.equal(r.state.pollIntervalMs, 700);
    assert.equal(r.state.rulesVersion, 9);
    assert.equal(r.last[0]?.type, 'flush', 'queued updates are applied before the switch');
    assert.deepEqual(timersSet(r.last), [{ timer: 'recheck', ms: 30_000 }]);
    const ignored = run([
      ...STREAMING,
      cur((gen) => ({ type: 'control', gen, transport: 'sse', reason: 'x' })),
    ]);
    assert.deepEqual(ignored.last, []);
  });

  test("stream failures: the first is the EventSource's, then the kit reconnects with backoff and Retry-After", () => {
    const first = run([...STREAMING, fail(0)]);
    assert.equal(first.state.consecutive, 1);
    assert.ok(!has(first.last, 'closeStream'));
    assert.deepEqual(statuses(first.last), [
      { transport: 'sse', phase: 'waiting', reason: 'rollout', lastError: 'stream interrupted' },
    ]);
    const second = run([fail(1000, false, 9000)], envOf(), first.state);
    assert.ok(has(second.last, 'closeStream'));
    assert.deepEqual(timersSet(second.last), [{ timer: 'reconnect', ms: 9000 }]);
    const back = run([fire('reconnect')], envOf({ hasPosition: true }), second.state);
    assert.deepEqual(back.last.at(-1), { type: 'openStream', gen: back.state.gen, resume: true });
    const healed = run([cur((gen) => ({ type: 'opened', gen })), update], envOf(), back.state);
    assert.equal(healed.state.reconnectAttempt, 0);
    assert.deepEqual(statuses(healed.last).at(-1)?.phase, 'live');

    const gaveUp = run([...STREAMING, fail(0, true)]);
    assert.ok(has(gaveUp.last, 'closeStream'), 'an EventSource that gave up is not left to reconnect');
  });

  test('a shutdown announces the next error: no failure counted', () => {
    const r = run([...STREAMING, cur((gen) => ({ type: 'shutdown', gen })), fail(0)]);
    assert.equal(r.state.consecutive, 0);
    assert.deepEqual(r.state.failures, []);
    assert.deepEqual(statuses(r.last), [
      { transport: 'sse', phase: 'waiting', reason: 'rollout', lastError: null },
    ]);
    assert.equal(run([fail(1)], envOf(), r.state).state.consecutive, 1, 'only the one error');
  });

  test('maxErrors failures within the window fall back to polling; older ones have expired', () => {
    const w = DEFAULTS.errorWindowMs;
    const spaced = run([...STREAMING, ...[0, w, 2 * w, 3 * w].map((t) => fail(t))]);
    assert.equal(spaced.state.mode, 'sse');
    const fast = run([...STREAMING, ...[0, 1, 2, 3].map((t) => fail(t))]);
    assert.equal(fast.state.mode, 'poll');
    assert.equal(fast.state.reason, 'fallback:errors');
    assert.deepEqual(fast.state.failures, []);
    // The first fallback retries streaming after backoff(0, 2 x streamRetryMs): [streamRetryMs, 2x].
    assert.deepEqual(timersSet(fast.last), [{ timer: 'recheck', ms: 90_000 }]);
  });

  test('a server error is shown and changes nothing else', () => {
    const r = run([
      ...STREAMING,
      cur((gen) => ({ type: 'serverError', gen, code: 'SLOW_CONSUMER', message: 'too slow' })),
    ]);
    assert.deepEqual(r.last, [
      {
        type: 'status',
        status: {
          transport: 'sse',
          phase: 'waiting',
          reason: 'rollout',
          lastError: 'SLOW_CONSUMER: too slow',
        },
      },
    ]);
  });

  test('polls: at the interval from the start of the last one, backing off on errors, never sooner than Retry-After', () => {
    const polling = run([START, choose(advice({ transport: 'poll' }))]);
    const ok = run([polledOk({ intervalMs: 1000, elapsedMs: 300 })], envOf(), polling.state);
    assert.equal(ok.state.pollIntervalMs, 1000);
    assert.deepEqual(timersSet(ok.last), [{ timer: 'poll', ms: 700 }]);
    const failed = run(
      [
        cur((gen) => ({
          type: 'polled',
          gen,
          outcome: { ok: false, retryAfterMs: null, error: 'HTTP 500' },
        })),
      ],
      envOf(),
      ok.state,
    );
    assert.deepEqual(
      timersSet(failed.last),
      [{ timer: 'poll', ms: 1000 }],
      'backoff 750, but not faster than the interval',
    );
    const told = run(
      [
        cur((gen) => ({
          type: 'polled',
          gen,
          outcome: { ok: false, retryAfterMs: 20_000, error: 'RATE_LIMITED' },
        })),
      ],
      envOf(),
      failed.state,
    );
    assert.deepEqual(timersSet(told.last), [{ timer: 'poll', ms: 20_000 }]);
    assert.equal(told.state.pollAttempt, 2);
    assert.deepEqual(run([fire('poll')], envOf(), told.state).last, [{ type: 'poll', gen: told.state.gen }]);
  });

  test('new rollout rules seen on a poll: ask at once, only while the rollout is why it polls', () => {
    const polling = run([START, choose(advice({ transport: 'poll' }))]);
    const seen = run([polledOk({ rulesVersion: 4 })], envOf(), polling.state);
    assert.ok(seen.last.some((e) => e.type === 'ask' && e.purpose === 'recheck'));
    assert.ok(!seen.state.timers.has('recheck'));
    assert.equal(seen.state.rulesVersion, 4);
    const same = run([polledOk({ rulesVersion: 3 })], envOf(), polling.state);
    assert.ok(!has(same.last, 'ask'));
    const forced = run(
      [START, polledOk({ rulesVersion: 4 })],
      envOf({ settings: { ...SETTINGS, force: 'poll' } }),
    );
    assert.ok(!has(forced.last, 'ask'), 'no recheck pending: nothing to ask');
  });

  test("rechecks: stream when told, else keep polling for the rollout's reason", () => {
    const polling = run([START, choose(advice({ transport: 'poll', reason: 'rollout' }))]);
    const asked = run([fire('recheck')], envOf(), polling.state);
    assert.deepEqual(asked.last, [{ type: 'ask', gen: polling.state.gen, purpose: 'recheck' }]);
    const stream = run([recheck(advice())], envOf({ hasPosition: true }), asked.state);
    assert.deepEqual(stream.last.at(-1), { type: 'openStream', gen: stream.state.gen, resume: false });
    const stay = run(
      [recheck(advice({ transport: 'poll', reason: 'kill_switch', recheckAfterMs: 5000 }))],
      envOf(),
      asked.state,
    );
    assert.equal(stay.state.reason, 'kill_switch');
    assert.deepEqual(timersSet(stay.last), [{ timer: 'recheck', ms: 5000 }]);
  });

  test('late answers of an old mode and anything after stop change nothing', () => {
    const r = run(STREAMING);
    const stale = r.state.gen - 1;
    for (const e of [
      { type: 'advice', gen: stale, purpose: 'choose', result: advice() },
      { type: 'failed', gen: stale, at: 0, gaveUp: true, status: 500, retryAfterMs: null },
      { type: 'timer', gen: stale, timer: 'probe' },
    ] as PolicyEvent[])
      assert.deepEqual(step(envOf(), r.state, e), { state: r.state, effects: [] });
    const stopped = run([{ type: 'stop' }], envOf(), r.state);
    assert.deepEqual(statuses(stopped.last), [
      { transport: 'none', phase: 'closed', reason: 'closed', lastError: null },
    ]);
    assert.ok(has(stopped.last, 'closeStream') && has(stopped.last, 'abortRequests'));
    assert.deepEqual(run([START, { type: 'stop' }, fire('poll')], envOf(), stopped.state).effects, []);
  });
});

// ---- every event, in any order -------------------------------------------------------------

/** An event kind with its payload; `stale` events carry an old generation. */
const eventArb: fc.Arbitrary<{ stale: boolean; make: (gen: number) => PolicyEvent }> = fc.record({
  stale: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
  make: fc.oneof(
    fc.constant((): PolicyEvent => ({ type: 'start' })),
    fc.constant((): PolicyEvent => ({ type: 'stop' })),
    fc
      .record({
        purpose: fc.constantFrom('choose' as const, 'recheck' as const),
        ok: fc.boolean(),
        transport: fc.constantFrom('sse' as const, 'poll' as const),
        reason: fc.constantFrom('rollout', 'kill_switch', 'allow_list'),
        pollIntervalMs: fc.integer({ min: 0, max: 20_000 }),
        recheckAfterMs: fc.integer({ min: 0, max: 120_000 }),
        rulesVersion: fc.integer({ min: 0, max: 4 }),
        retryAfterMs: fc.option(fc.integer({ min: 0, max: 3_600_000 }), { nil: null }),
      })
      .map(
        (a) =>
          (gen: number): PolicyEvent => ({
            type: 'advice',
            gen,
            purpose: a.purpose,
            result: a.ok
              ? advice({
                  transport: a.transport,
                  reason: a.reason,
                  pollIntervalMs: a.pollIntervalMs,
                  recheckAfterMs: a.recheckAfterMs,
                  rulesVersion: a.rulesVersion,
                })
              : { ok: false, retryAfterMs: a.retryAfterMs },
          }),
      ),
    fc.constant((gen: number): PolicyEvent => ({ type: 'opened', gen })),
    fc.boolean().map(
      (snapshot) =>
        (gen: number): PolicyEvent => ({ type: 'data', gen, snapshot }),
    ),
    fc
      .record({
        transport: fc.constantFrom('sse' as const, 'poll' as const),
        pollIntervalMs: fc.option(fc.integer({ min: -1, max: 20_000 }), { nil: undefined }),
        recheckAfterMs: fc.option(fc.integer({ min: -1, max: 120_000 }), { nil: undefined }),
      })
      .map(
        (c) =>
          (gen: number): PolicyEvent => ({ type: 'control', gen, reason: 'rollout', ...c }),
      ),
    fc.constant((gen: number): PolicyEvent => ({ type: 'shutdown', gen })),
    fc.constant((gen: number): PolicyEvent => ({ type: 'serverError', gen, code: 'X', message: '' })),
    fc
      .record({
        dt: fc.integer({ min: 0, max: 40_000 }),
        gaveUp: fc.boolean(),
        status: fc.option(fc.constantFrom(500, 503, 429), { nil: null }),
        retryAfterMs: fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: null }),
      })
      .map(
        (f) =>
          (gen: number): PolicyEvent => ({
            type: 'failed',
            gen,
            at: f.dt,
            gaveUp: f.gaveUp,
            status: f.status,
            retryAfterMs: f.retryAfterMs,
          }),
      ),
    fc
      .record({
        ok: fc.boolean(),
        intervalMs: fc.option(fc.integer({ min: 1, max: 20_000 }), { nil: null }),
        rulesVersion: fc.option(fc.integer({ min: 0, max: 4 }), { nil: null }),
        elapsedMs: fc.integer({ min: 0, max: 30_000 }),
        retryAfterMs: fc.option(fc.integer({ min: 0, max: 3_600_000 }), { nil: null }),
      })
      .map(
        (p) =>
          (gen: number): PolicyEvent => ({
            type: 'polled',
            gen,
            outcome: p.ok
              ? { ok: true, intervalMs: p.intervalMs, rulesVersion: p.rulesVersion, elapsedMs: p.elapsedMs }
              : { ok: false, retryAfterMs: p.retryAfterMs, error: 'HTTP 503' },
          }),
      ),
    fc.constant((gen: number): PolicyEvent => ({ type: 'probed', gen })),
    fc.constantFrom<TimerName>('watchdog', 'reconnect', 'poll', 'recheck', 'probe').map(
      (timer) =>
        (gen: number): PolicyEvent => ({ type: 'timer', gen, timer }),
    ),
  ),
});

/** Which modes each timer may be pending in. */
const TIMER_MODES: Record<TimerName, ReadonlySet<string>> = {
  watchdog: new Set(['sse']),
  reconnect: new Set(['sse']),
  probe: new Set(['sse']),
  poll: new Set(['poll']),
  recheck: new Set(['poll']),
};

describe('transport policy: random sequences of every event', () => {
  test('invariants hold after every step', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { maxLength: 40 }),
        fc.array(fc.double({ min: 0, max: 0.999999, noNaN: true }), { minLength: 1, maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom<PolicySettings['force']>(null, null, 'sse', 'poll'),
        (events, randoms, canStream, hasPosition, force) => {
          let i = 0;
          const env = envOf({
            canStream,
            hasPosition,
            random: () => randoms[i++ % randoms.length]!,
            settings: { ...SETTINGS, force },
          });
          let state = initialState(env.settings);
          /** The engine's side as the effects leave it: pending timers and whether a stream is open. */
          const pending = new Set<TimerName>();
          let streamOpen = false;
          let clock = 0;
          for (const ev of events) {
            const before = state;
            const event = ev.make(ev.stale ? state.gen - 1 : state.gen);
            if (event.type === 'failed') event.at = clock += event.at;
            // A timer fires only if it is pending (the engine's slot holds it).
            if (event.type === 'timer' && !ev.stale && !pending.has(event.timer)) continue;
            if (event.type === 'timer' && !ev.stale) pending.delete(event.timer);
            const { state: next, effects } = step(env, state, event);
            state = next;

            if (before.mode === 'stopped' || (ev.stale && 'gen' in event)) {
              assert.deepEqual(effects, [], `${event.type} in ${before.mode} / stale must do nothing`);
              assert.equal(state, before);
            }
            for (const e of effects) {
              if (e.type === 'setTimer') {
                assert.ok(Number.isFinite(e.ms) && e.ms >= 0, `timer ${e.timer} ${e.ms}`);
                pending.add(e.timer);
              } else if (e.type === 'clearTimer') pending.delete(e.timer);
              else if (e.type === 'openStream') {
                assert.equal(streamOpen, false, 'a second stream while one is open');
                streamOpen = true;
              } else if (e.type === 'closeStream') streamOpen = false;
              if ('gen' in e) assert.equal(e.gen, state.gen, `${e.type} for an old generation`);
            }
            assert.deepEqual(
              [...pending].sort(),
              [...state.timers].sort(),
              'policy and engine agree on timers',
            );
            for (const t of state.timers)
              assert.ok(TIMER_MODES[t].has(state.mode), `${t} pending in ${state.mode}`);
            if (state.mode !== 'sse') assert.equal(streamOpen, false, `a stream open in ${state.mode}`);
            if (state.mode === 'sse') assert.ok(canStream);
            assert.ok(state.failures.length < SETTINGS.maxErrors);
            assert.ok(state.consecutive >= 0 && state.reconnectAttempt >= 0 && state.pollAttempt >= 0);
            assert.ok(state.pollIntervalMs > 0);
            const shown = statuses(effects).at(-1);
            if (shown && state.mode !== 'stopped')
              assert.equal(
                shown.transport,
                state.mode === 'sse' || state.mode === 'poll' ? state.mode : 'none',
              );
            if (state.mode === 'stopped' && before.mode !== 'stopped') assert.equal(shown?.phase, 'closed');
          }
        },
      ),
      { numRuns: 1500 },
    );
  });
});
