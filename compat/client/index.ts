/**
 * Switchyard client kit: one API over SSE and polling, chosen by the gateway's rollout.
 * Browsers load it from the gateway (`import { connect } from '/v1/client.js'`); Node and
 * bundlers import this file (types: package.json `exports["./client"]`). docs/client-kit.md.
 */
export { ClockOffset } from './clock.ts';
export { type ConnectOptions, connect, type KitHandle } from './connect.ts';
export { DEFAULTS } from './defaults.ts';
export { adoptState, arrivals, EMPTY_STATE, reduce } from './reducer.ts';
export type { TelemetryOptions } from './telemetry.ts';
export type { Timers } from './timers.ts';
// Every type of types.ts is public: the wire types and the state the kit hands to applications.
export type * from './types.ts';
