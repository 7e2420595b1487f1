import {
  ContractLoadError,
  type LoadedContract,
  prepareContracts,
  unusedContractWarnings,
} from '../legacy-adapter/contract-loader.ts';
import { isClusterPrimary, runPrimary } from './cluster.ts';
import { ConfigError } from './config/load.ts';
import { createApp } from './http/app.ts';
import { createHttpServer } from './http/server.ts';
import { shutdown } from './lifecycle.ts';
import { createLogger } from './observability/logger.ts';
import {
  createGateway,
  loadConfig,
  type SwitchyardConfig,
  startDemoBackend,
  startGateway,
} from './switchyard.ts';

/** Exit code of a start-up failure fixed by a setting (bad config, port in use): not respawned. */
const EXIT_CONFIG = 2;

/**
 * The process: reads and validates config, builds the gateway, listens, and owns signals.
 * Everything else is built by createGateway()/createApp() and can run without this file.
 */
async function main(): Promise<void> {
  let config: SwitchyardConfig;
  try {
    config = loadConfig(process.env, process.argv.slice(2), { discoverFile: true });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee docs/configuration.md.\n`);
      process.exit(EXIT_CONFIG);
    }
    throw err;
  }
  // The user's contract modules (LEGACY_CONTRACTS), loaded and checked before anything starts.
  let contracts: LoadedContract[];
  try {
    contracts = await prepareContracts(config);
  } catch (err) {
    if (err instanceof ContractLoadError) {
      process.stderr.write(`${err.message}\nSee docs/contracts.md.\n`);
      process.exit(2);
    }
    throw err;
  }
  // --workers N: this process only supervises N gateway processes sharing the port.
  if (isClusterPrimary(config)) {
    runPrimary(config);
    return;
  }
  // `npm start` without LEGACY_URL: the reference legacy backend runs in-process, fed by the same
  // demo feed as the cache (legacy-adapter/demo-backend.ts), so proxy/shadow/serve show one dataset.
  const legacyDemo = await startDemoBackend(config, createLogger(config.logLevel)).catch((err: unknown) => {
    throw startupError(err, 'LEGACY_DEMO_PORT', config.legacy.demoBackend?.port);
  });
  const ctx = createGateway(config, {
    legacyContracts: contracts,
    ...(legacyDemo ? { source: legacyDemo.source, legacyUrl: legacyDemo.url } : {}),
  });
  const app = createApp(ctx);
  const server = createHttpServer(app, { maxHeaderBytes: config.security.maxHeaderBytes });

  await startGateway(ctx);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(startupError(err, 'PORT', config.port)));
    server.listen(config.port, config.host, resolve);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  ctx.logger.info({ port, source: ctx.source.kind }, 'listening');
  if (config.legacy.demoNote) ctx.logger.warn(config.legacy.demoNote);
  // One banner and one set of warnings per instance: with WORKERS > 1, the first worker's.
  const firstWorker = ctx.fleet.identity.worker <= 1;
  if (firstWorker) for (const w of unusedContractWarnings(config, contracts)) ctx.logger.warn(w);
  if (firstWorker && (process.stdout.isTTY || process.env.SWITCHYARD_PRINT_URLS === '1')) {
    process.stdout.write(
      [
        '',
        `Switchyard is running on the ${ctx.source.kind === 'demo' ? 'embedded demo feed' : 'Kafka source'}:`,
        `  stream:    curl -N '${base}/v1/stream'`,
        `  poll:      curl '${base}/v1/snapshot'`,
        `  health:    ${base}/readyz   metrics: ${base}/metrics`,
        `  compare:   ${base}/compare  (polling vs SSE, side by side)`,
        ...config.legacy.routes.map(
          (r) =>
            `  legacy:    curl -i '${base}${r.path}'   (${r.mode}; backend ${ctx.legacy.backendUrl}${r.path})`,
        ),
        '',
      ].join('\n'),
    );
  }

  const stop = (signal: string) => {
    ctx.logger.info({ signal }, 'signal received');
    shutdown(ctx, server, { drainMs: config.shutdownDrainMs, retryMs: config.retryMs })
      .then(() => legacyDemo?.close())
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        ctx.logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** A start-up failure an operator fixes with a setting: one line, exit 2 (no stack). */
class StartupError extends Error {}

function startupError(err: unknown, setting: string, port: number | undefined): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'EADDRINUSE')
    return new StartupError(
      `${setting}=${port}: the port is already in use; stop what uses it or set ${setting} to a free port`,
    );
  if (code === 'EACCES')
    return new StartupError(
      `${setting}=${port}: not allowed to listen on this port; set ${setting} to a port above 1023`,
    );
  if (code === 'EADDRNOTAVAIL')
    return new StartupError(`HOST: no such local address to listen on for ${setting}=${port}`);
  return err instanceof Error ? err : new Error(String(err));
}

main().catch((err: unknown) => {
  if (err instanceof StartupError) {
    process.stderr.write(`switchyard failed to start: ${err.message}\n`);
    process.exit(EXIT_CONFIG);
  }
  process.stderr.write(`switchyard failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
