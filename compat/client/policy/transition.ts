import type { KitStatus } from '../types.ts';
import type { Effect, PolicyEnv } from './events.ts';
import { type Mode, NO_TIMERS, type PolicyState, type TimerName } from './state.ts';

/**
 * Builds one step: the state as it changes, and the effects in order. It knows no policy, only
 * the moves every part of it makes (change the state, report a status, set or clear a timer,
 * change mode); the transitions (stream.ts, polling.ts, ...) are functions over it.
 */
export class Transition {
  state: PolicyState;
  readonly effects: Effect[] = [];

  constructor(
    readonly env: PolicyEnv,
    state: PolicyState,
  ) {
    this.state = state;
  }

  set(patch: Partial<PolicyState>): void {
    this.state = { ...this.state, ...patch };
  }

  report(phase: KitStatus['phase'], lastError: string | null): void {
    const { mode, reason } = this.state;
    const transport = mode === 'sse' ? 'sse' : mode === 'poll' ? 'poll' : 'none';
    this.effects.push({ type: 'status', status: { transport, phase, reason, lastError } });
  }

  setReason(reason: string): void {
    if (reason === this.state.reason) return;
    this.set({ reason });
    this.report('live', null);
  }

  setTimer(timer: TimerName, ms: number): void {
    this.set({ timers: new Set(this.state.timers).add(timer) });
    this.effects.push({ type: 'setTimer', gen: this.state.gen, timer, ms });
  }

  clearTimer(timer: TimerName): void {
    if (!this.state.timers.has(timer)) return;
    this.dropTimer(timer);
    this.effects.push({ type: 'clearTimer', timer });
  }

  /** Forgets a timer that fired (the engine's slot is empty already). */
  dropTimer(timer: TimerName): void {
    const timers = new Set(this.state.timers);
    timers.delete(timer);
    this.set({ timers });
  }

  /**
   * Leaves the current mode (applying what is queued, closing its stream, timers and requests)
   * and enters another. Returns the new generation.
   */
  enter(mode: Mode): number {
    this.effects.push({ type: 'flush' }, { type: 'closeStream' });
    for (const timer of this.state.timers) this.effects.push({ type: 'clearTimer', timer });
    this.effects.push({ type: 'abortRequests' });
    const gen = this.state.gen + 1;
    this.set({ mode, gen, expectReconnect: false, timers: NO_TIMERS });
    if (mode === 'stopped')
      this.effects.push({
        type: 'status',
        status: { transport: 'none', phase: 'closed', reason: 'closed', lastError: null },
      });
    return gen;
  }
}
