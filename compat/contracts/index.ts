import { liveMapContract } from './live-map.ts';
import type { LegacyContract } from './types.ts';

export type { LegacyContract, SnapshotView, ViewItem, ViewRow } from './types.ts';

/**
 * The bundled example contracts by name, for tests and tools. The gateway itself loads contracts
 * as modules named by LEGACY_CONTRACTS (legacy-adapter/contract-loader.ts; this file is not one):
 * a team keeps its own in its repository (docs/contracts.md).
 */
export const CONTRACTS: Readonly<Record<string, LegacyContract>> = Object.freeze({
  [liveMapContract.name]: liveMapContract as LegacyContract,
});
