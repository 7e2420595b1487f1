import { liveMapContract } from './live-map.ts';
import type { LegacyContract } from './types.ts';

export type { LegacyContract, SnapshotView, ViewItem, ViewRow } from './types.ts';

/**
 * Every contract this build knows, by name: LEGACY_ROUTES and the admin API may only name these.
 * A team adds its own contract module here (docs/contracts.md).
 */
export const CONTRACTS: Readonly<Record<string, LegacyContract>> = Object.freeze({
  [liveMapContract.name]: liveMapContract as LegacyContract,
});
