/**
 * The composition of the product: the gateway core (createGateway) with the extensions
 * Switchyard ships: the legacy adapter (legacy-adapter/: routes, admin API, shadow compare) and
 * compat's server side (the client kit as /v1/client.js, the demo pages). With gateway/main.ts,
 * the only file allowed to import both the core and the extensions (.dependency-cruiser.cjs).
 * Tests and main.ts build a whole Switchyard here; the core alone is gateway/gateway.ts.
 */
import type { LegacyContract } from '../compat/contracts/types.ts';
import { demoRouter } from '../compat/demo/demo-route.ts';
import { clientKitRouter } from '../compat/server/client-kit-route.ts';
import type { LegacyAdapter } from '../legacy-adapter/adapter.ts';
import { type LegacyGatewayConfig, legacyConfigPart } from '../legacy-adapter/config.ts';
import type { LoadedContract } from '../legacy-adapter/contract-loader.ts';
import { type DemoLegacyBackend, startDemoLegacyBackend } from '../legacy-adapter/demo-backend.ts';
import { legacyExtension } from '../legacy-adapter/extension.ts';
import {
  type LoadedSettings,
  type LoadOptions,
  loadConfig as loadCoreConfig,
  loadSettings as loadCoreSettings,
} from './config/load.ts';
import type { GatewayContext } from './context.ts';
import type { ExtensionFactory } from './extension.ts';
import { createGateway as createCore, type GatewayOverrides } from './gateway.ts';
import type { Logger } from './observability/logger.ts';

export { startGateway, stopGateway } from './gateway.ts';

/** The config of a Switchyard: the core's, with the legacy adapter's part (`config.legacy`). */
export type SwitchyardConfig = LegacyGatewayConfig;

/** The extensions' parts of the configuration, validated and reported with the core's settings. */
export const SWITCHYARD_CONFIG_PARTS = [legacyConfigPart] as const;

/** loadConfig() (gateway/config/load.ts) with the extensions' settings: what main.ts and the tests load. */
export function loadConfig(
  env: Record<string, string | undefined>,
  argv: readonly string[] = [],
  opts: Omit<LoadOptions, 'parts'> = {},
): SwitchyardConfig {
  return loadCoreConfig(env, argv, { ...opts, parts: SWITCHYARD_CONFIG_PARTS });
}

/** loadSettings() with the extensions' settings (`switchyard config check|print`). */
export function loadSettings(
  env: Record<string, string | undefined>,
  argv: readonly string[] = [],
  opts: Omit<LoadOptions, 'parts'> = {},
): LoadedSettings<SwitchyardConfig> {
  return loadCoreSettings(env, argv, { ...opts, parts: SWITCHYARD_CONFIG_PARTS });
}

export interface SwitchyardOverrides extends GatewayOverrides {
  /** Legacy contracts: as loaded from LEGACY_CONTRACTS (main.ts), or by name; default: none. */
  legacyContracts?: Readonly<Record<string, LegacyContract>> | readonly LoadedContract[];
  /** The legacy backend's URL when only known at start (the demo's backend on port 0). */
  legacyUrl?: string;
}

/** A gateway with Switchyard's extensions; `legacy` is the legacy adapter (admin state, shadow). */
export interface Switchyard extends GatewayContext {
  readonly legacy: LegacyAdapter;
}

/** The client kit and the demo pages, served from compat/ (static; no start or stop). */
const compatRoutes: ExtensionFactory = () => ({
  name: 'compat-routes',
  routers: () => [clientKitRouter(), demoRouter()],
  start() {},
  stop() {},
});

/**
 * Builds the gateway (not started) with the legacy adapter and compat's routes mounted as
 * extensions: `createApp(switchyard)` serves them next to the core's routes.
 */
export function createGateway(config: SwitchyardConfig, overrides: SwitchyardOverrides = {}): Switchyard {
  const { legacyContracts, legacyUrl, ...core } = overrides;
  const legacy = legacyExtension(config, { contracts: legacyContracts, backendUrl: legacyUrl });
  let adapter: LegacyAdapter | undefined;
  const ctx = createCore(config, {
    ...core,
    extensions: [
      (host) => {
        const e = legacy(host);
        adapter = e.adapter;
        return e;
      },
      compatRoutes,
      ...(core.extensions ?? []),
    ],
  });
  if (!adapter) throw new Error('the legacy extension was not built');
  return Object.assign(ctx, { legacy: adapter });
}

/**
 * `npm start` without LEGACY_URL: the reference legacy backend runs in-process, fed by the same
 * demo feed as the cache (legacy-adapter/demo-backend.ts), so proxy/shadow/serve show one dataset.
 * Null when the config asks for no demo backend.
 */
export function startDemoBackend(
  config: SwitchyardConfig,
  logger: Logger,
): Promise<DemoLegacyBackend | null> {
  return config.legacy.demoBackend ? startDemoLegacyBackend(config, logger) : Promise.resolve(null);
}
