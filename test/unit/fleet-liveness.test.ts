/**
 * Issue 18: a process that crashed must not stay in `GET /v1/admin/fleet` forever. Live
 * processes repeat their applied report; one that stops reporting is `stale` after three
 * intervals (and no longer blocks `converged`), and is no longer listed after ten.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ControlLog, MemoryControlLog } from '../../gateway/fleet/control-log.ts';
import { FleetState } from '../../gateway/fleet/state.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { defaultRules } from '../../gateway/rollout/rules.ts';

const EVERY = 1000;

/** A process's view of the shared log; `crash()` and nothing it appends arrives any more. */
function processLog(shared: MemoryControlLog): ControlLog & { crash(): void } {
  let dead = false;
  return {
    kind: 'memory',
    start: () => shared.start(),
    append: (key, value) => (dead ? new Promise<number>(() => {}) : shared.append(key, value)),
    onRecord: (h) => shared.onRecord(h),
    loaded: () => shared.loaded(),
    whenLoaded: () => shared.whenLoaded(),
    stop: async () => {},
    crash: () => {
      dead = true;
    },
  };
}

test('a process that stops reporting is stale after 3 intervals, then forgotten; live ones stay', async (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let now = 1_000_000;
  const shared = new MemoryControlLog();
  const make = (worker: number, log: ControlLog) =>
    new FleetState(log, {
      defaults: defaultRules(0),
      logger: createLogger('silent'),
      now: () => now,
      identity: { instance: 'gw-1:8080', worker },
      reportEveryMs: EVERY,
    });
  const crashedLog = processLog(shared);
  const live = make(1, processLog(shared));
  const crashed = make(2, crashedLog);
  const settle = async () => {
    for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
  };
  live.start();
  crashed.start();
  await settle();
  /** Time passes: every live process repeats its report. */
  const intervals = async (n: number) => {
    for (let i = 0; i < n; i++) {
      now += EVERY;
      t.mock.timers.tick(EVERY);
      await settle();
    }
  };
  const names = () => live.view().processes.map((p) => `${p.process}${p.stale ? ' (stale)' : ''}`);
  assert.deepEqual(names(), ['gw-1:8080/1', 'gw-1:8080/2']);
  await intervals(5);
  assert.deepEqual(names(), ['gw-1:8080/1', 'gw-1:8080/2'], 'both alive: both listed, none stale');

  // Worker 2 dies without a word: nothing is withdrawn, its reports just stop.
  crashedLog.crash();
  await intervals(3);
  assert.deepEqual(names(), ['gw-1:8080/1', 'gw-1:8080/2'], 'three intervals: not stale yet');
  await intervals(1);
  assert.deepEqual(names(), ['gw-1:8080/1', 'gw-1:8080/2 (stale)']);

  // A version the dead process never applies: the fleet still converges on the live one.
  await live.publish({ rules: defaultRules(50), updatedAt: now });
  await settle();
  const v = live.view();
  assert.equal(v.processes.find((p) => p.worker === 1)?.versions.rules, v.desired.rules);
  assert.notEqual(v.processes.find((p) => p.worker === 2)?.versions.rules, v.desired.rules);
  assert.equal(v.converged, true, 'a stale process does not hold convergence back');

  await intervals(7);
  assert.deepEqual(names(), ['gw-1:8080/1'], 'past ten intervals: no longer listed');
  await live.stop();
});
