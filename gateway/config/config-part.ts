import type { z } from 'zod';
import type { StreamConfig } from './streams.ts';

/**
 * An extension's part of the configuration (the legacy adapter's LEGACY_* settings): its
 * settings are validated, read from the config file, the environment and flags, and reported
 * exactly as the core's, but declared by the extension, so the core config knows none of them.
 * The composition (gateway/switchyard.ts) passes the parts to loadConfig().
 */
export interface ConfigPart<K extends string = string, V = unknown> {
  /** Where the resolved part lands in the config (`config.legacy`). */
  readonly key: K;
  /** The part's settings by environment name, validated with the core's (names must not clash). */
  readonly shape: z.ZodRawShape;
  /** Settings a config file holds as a structure (an array of objects, say) rather than a scalar or list. */
  readonly structured?: readonly string[];
  /** Settings holding paths (a path, or a list of them) that a config file gives relative to its folder. */
  readonly paths?: readonly string[];
  /**
   * Settings with a text form of their own (env, flags: `name:path:mode,...`): `parse` turns the
   * text into the value the schema checks, or throws; its message is reported as
   * `NAME: message; hint`.
   */
  readonly textForms?: Readonly<Record<string, { parse(raw: string): unknown; hint: string }>>;
  /**
   * Builds the part once every setting is valid. `settings` holds all of them (core ones such as
   * PORT or STREAMS included); problems are reported as configuration errors.
   */
  resolve(
    settings: Readonly<Record<string, unknown>>,
    streams: readonly StreamConfig[],
  ): { value: V; problems: string[] };
}

/** The config keys the parts add: `{ legacy: LegacyConfig }` for the legacy adapter's part. */
export type PartsConfig<P extends readonly ConfigPart[]> = {
  readonly [X in P[number] as X['key']]: ReturnType<X['resolve']>['value'];
};
