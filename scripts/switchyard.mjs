#!/usr/bin/env node
/**
 * The `switchyard` command (package.json "bin"). Subcommands:
 *   switchyard compare --url http://host:port --clients N --duration 60s [--streams a,b] [--json]
 * Each runs its TypeScript entry with tsx, from this package, whatever the working directory.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const COMMANDS = {
  compare: join(root, 'bench', 'compare.ts'),
};

const [command, ...args] = process.argv.slice(2);
const entry = command === undefined ? undefined : COMMANDS[command];
if (entry === undefined) {
  const known = Object.keys(COMMANDS).join(', ');
  process.stderr.write(
    `${command === undefined || command === '--help' ? '' : `Unknown command "${command}". `}` +
      `Usage: switchyard <command> [options]; commands: ${known}. Try: switchyard compare --help\n`,
  );
  process.exit(command === '--help' ? 0 : 2);
}

// tsx resolved from this package, so the command works from any directory.
const tsx = import.meta.resolve('tsx');
const child = spawn(process.execPath, ['--import', tsx, entry, ...args], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
