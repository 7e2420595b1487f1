import type { ExtensionFactory, GatewayExtension } from '../gateway/extension.ts';
import { LegacyAdapter, type LegacyDeps } from './adapter.ts';
import type { LegacyGatewayConfig } from './config.ts';
import { legacyRouter } from './legacy-route.ts';
import { mergeShadowReports, type ShadowQuery, type ShadowReport } from './shadow/report.ts';

/** The legacy adapter as mounted on a gateway: its routes, its admin API, and its lifecycle. */
export interface LegacyExtension extends GatewayExtension {
  readonly adapter: LegacyAdapter;
}

/**
 * The legacy routes (proxy / shadow / serve) and their admin API as an extension of the gateway:
 * built from the gateway's read-only view, following route modes and sample rates as fleet state.
 */
export function legacyExtension(
  config: LegacyGatewayConfig,
  opts: Pick<LegacyDeps, 'contracts' | 'backendUrl'> = {},
): ExtensionFactory<LegacyExtension> {
  return (host) => {
    const adapter = new LegacyAdapter({
      config,
      metrics: host.metrics,
      logger: host.logger,
      host,
      contracts: opts.contracts,
      backendUrl: opts.backendUrl,
    });
    // Route modes and sample rates are fleet state: every process applies each new version.
    host.fleet.onRoutes((s) => adapter.applyDesired(s));
    // Shadow statistics are per process: every worker answers with its own, the asker merges.
    host.figures.serveReports((q) => adapter.shadowReport(q as ShadowQuery));
    const shadow = async (query: ShadowQuery): Promise<ShadowReport & { workers: number }> => {
      const reports = (await host.figures.reports(query)) as ShadowReport[];
      return { ...mergeShadowReports(reports, query.limit), workers: reports.length };
    };
    return {
      name: 'legacy-adapter',
      adapter,
      routers: () => [legacyRouter({ legacy: adapter, fleet: host.fleet, shadow, now: host.now })],
      start() {},
      stop: () => adapter.close(),
    };
  };
}
