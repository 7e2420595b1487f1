import { createServer } from 'node:http';
import { type Config, ConfigError, loadConfig } from './config/load.ts';
import { createGateway, startGateway } from './gateway.ts';
import { createApp } from './http/app.ts';
import { shutdown } from './lifecycle.ts';

/**
 * The process: reads and validates config, builds the gateway, listens, and owns signals.
 * Everything else is built by createGateway()/createApp() and can run without this file.
 */
async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env, process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\nSee docs/configuration.md.\n`);
      process.exit(2);
    }
    throw err;
  }
  const ctx = createGateway(config);
  const app = createApp(ctx);
  const server = createServer(app);
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
        '',
      ].join('\n'),
    );
  }

  const stop = (signal: string) => {
    ctx.logger.info({ signal }, 'signal received');
    shutdown(ctx, server, { drainMs: config.shutdownDrainMs, retryMs: config.retryMs })
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
