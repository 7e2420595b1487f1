/**
 * What a contract author imports (`switchyard/contract`): the types, the zod the gateway runs
 * with (so `shape` is a schema of the same zod), and `defineContract` for type inference.
 *
 *   import { defineContract, z } from 'switchyard/contract';
 *   export default defineContract({ name: 'board', streams: { board: 'table' }, ... });
 */
import type { LegacyContract } from './types.ts';

export { z } from 'zod';
export type { LegacyContract, SnapshotView, ViewItem, ViewRow } from './types.ts';

/** Returns the contract as given; it only lets TypeScript infer and check `Body` against `shape`. */
export function defineContract<Body>(contract: LegacyContract<Body>): LegacyContract<Body> {
  return contract;
}
