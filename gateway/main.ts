import { createServer } from 'node:http';
import {
  ContractLoadError,
  type LoadedContract,
  prepareContracts,
} from '../legacy-adapter/contract-loader.ts';
import { startDemoLegacyBackend } from '../legacy-adapter/demo-backend.ts';
import { isClusterPrimary, runPrimary } from './cluster.ts';
import { type Config, ConfigError, loadConfig } from './config/load.ts';
import { createGateway, startGateway } from './gateway.ts';
import { createApp } from './http/app.ts';
import { shutdown } from './lifecycle.ts';
import { createLogger } from './observability/logger.ts';
import { hardenServer } from './security/index.ts';

/**
 * The process: reads and validates config, builds the gateway, listens, and owns signals.
 * Everything else is built by createGateway()/createApp() and can run without this file.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, process.argv.slice(2), { discoverFile: true });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee docs/configuration.md.\n`);
      process.exit(2);
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
  const legacyDemo = config.legacy.demoBackend
    ? await startDemoLegacyBackend(config, createLogger(config.logLevel))
    : null;
  const ctx = createGateway(config, {
    legacyContracts: contracts,
    ...(legacyDemo ? { source: legacyDemo.source, legacyUrl: legacyDemo.url } : {}),
  });
  const app = createApp(ctx);
  // Request line + headers past MAX_HEADER_BYTES get a JSON 431 (hardenServer), not Node's empty one.
  const server = hardenServer(createServer({ maxHeaderSize: config.security.maxHeaderBytes }, app));
  // Long-lived responses: no socket inactivity timeout (heartbeats keep proxies happy); bounded
  // time to receive a request (slowloris); keep-alive longer than NGINX's upstream keepalive.
  server.timeout = 0;
  server.requestTimeout = 30_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 65_000;

  await startGateway(ctx);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.port;
  const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  ctx.logger.info({ port, source: ctx.source.kind }, 'listening');
  if (process.stdout.isTTY || process.env.SWITCHYARD_PRINT_URLS === '1') {
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

main().catch((err: unknown) => {
  process.stderr.write(`switchyard failed to start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
