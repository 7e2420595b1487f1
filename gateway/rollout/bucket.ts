import { createHash } from 'node:crypto';

/** Buckets per client population: a rollout step is 0.01 %. */
export const BUCKETS = 10_000;

/**
 * The sticky bucket of a client id, in [0, BUCKETS). Pure and stable across processes and
 * releases (SHA-256 of a fixed namespace and the id), so every instance puts a client in the
 * same bucket. A client streams when `bucket < percent x 100`: raising the percentage only adds
 * buckets, so a streaming client is never moved back by a larger percentage.
 */
export function bucketOf(clientId: string): number {
  const digest = createHash('sha256').update('switchyard-rollout\0').update(clientId, 'utf8').digest();
  // Scaling the top 32 bits (instead of `mod`) keeps every bucket equally likely.
  return Math.floor((digest.readUInt32BE(0) * BUCKETS) / 2 ** 32);
}

/** Whether a bucket falls inside a rollout percentage (0-100, steps of 0.01). */
export function inRollout(bucket: number, percent: number): boolean {
  return bucket < Math.round(percent * (BUCKETS / 100));
}
