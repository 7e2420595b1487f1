#!/usr/bin/env node
/**
 * The `switchyard` command (package.json "bin"):
 *   switchyard [--config FILE] [--name value ...]     the gateway (docs/configuration.md)
 *   switchyard config check [FILE] | config print     validate / print the configuration
 *   switchyard compare --url http://host:port ...     polling vs SSE from the outside
 *   switchyard kafka <start|stop|restart|destroy|status> [--state DIR]
 *   switchyard mint-token --streams a,b --ttl 3600   a stream access token (STREAM_TOKEN_SECRET)
 *   switchyard demo-producer | reference-backend      the demo's producer and old-style backend
 *
 * In the installed package each command is the JavaScript emitted in dist/, run by this very
 * node process (no child, no TypeScript). In the repository (TypeScript sources present) the
 * same entry runs from source through tsx, a development dependency.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const fromSource = existsSync(join(root, 'gateway', 'main.ts'));
const COMMANDS = {
  gateway: 'gateway/main',
  config: 'scripts/config-main',
  compare: 'bench/compare',
  kafka: 'scripts/kafka',
  'mint-token': 'scripts/mint-token',
  'demo-producer': 'scripts/demo-producer',
  'reference-backend': 'legacy-adapter/reference-backend/main',
};

const argv = process.argv.slice(2);
const first = argv[0];
if (first === 'help' || first === '--help' || first === '-h') {
  process.stdout.write(
    `Usage: switchyard [command] [options]\n` +
      `  (no command)       run the gateway: switchyard --config switchyard.config.json\n` +
      `  ${Object.keys(COMMANDS)
        .filter((c) => c !== 'gateway')
        .join(', ')}\n` +
      `Try: switchyard config --help, switchyard compare --help, switchyard kafka --help\n`,
  );
  process.exit(0);
}
// A first argument that is a flag (or nothing) runs the gateway.
const command = first === undefined || first.startsWith('-') ? 'gateway' : first;
const rest = command === first ? argv.slice(1) : argv;
const module = COMMANDS[command];
if (module === undefined) {
  process.stderr.write(
    `Unknown command "${command}". Commands: ${Object.keys(COMMANDS).join(', ')}; try switchyard --help\n`,
  );
  process.exit(2);
}

if (fromSource) {
  // tsx resolved from this package, so the command works from any directory.
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, join(root, `${module}.ts`), ...rest], {
    stdio: 'inherit',
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
} else {
  // The entry runs as if started as `node dist/<module>.js ...`: its own checks of argv[1]
  // (run-as-main guards) and node:cluster's forked workers both see that file.
  const entry = join(root, 'dist', `${module}.js`);
  process.argv = [process.argv[0], entry, ...rest];
  await import(pathToFileURL(entry).href);
}
