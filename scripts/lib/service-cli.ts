/** The command line the test services share: `<start|stop|restart|destroy|status> [--state DIR] [--version V]`. */
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Receives progress messages (the CLIs print them on stderr). */
export type ProgressLog = (message: string) => void;

/** What one service does for each command; the CLI parses, dispatches and prints. */
export interface ServiceCommands {
  /** Printed by `--help`, and after a wrong command. */
  usage: string;
  /** The state dir without `--state`. */
  defaultStateDir: string;
  log: ProgressLog;
  /** Starts it and prints what clients need on stdout; resolves with the exit code. */
  start(stateDir: string, version: string | undefined): Promise<number>;
  stop(stateDir: string): Promise<void>;
  /** What `stop` logs once done. */
  stoppedMessage(stateDir: string): string;
  destroy(stateDir: string): Promise<void>;
  /** Its recorded info (printed as JSON by `status`) and whether it runs. */
  status(stateDir: string): { running: boolean; info: object | undefined };
}

/** The CLI of a service: `main(argv)` resolving with the exit code (`status`: 0 running, 3 not). */
export function serviceMain(service: ServiceCommands): (argv: string[]) => Promise<number> {
  return async (argv) => {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        state: { type: 'string' },
        version: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
    });
    const [command, ...rest] = positionals;
    if (values.help) {
      process.stdout.write(service.usage);
      return 0;
    }
    if (!command || rest.length > 0) throw new Error(`expected exactly one command\n\n${service.usage}`);
    const stateDir = resolve(values.state ?? service.defaultStateDir);
    switch (command) {
      case 'start':
        return service.start(stateDir, values.version);
      case 'stop':
        await service.stop(stateDir);
        service.log(service.stoppedMessage(stateDir));
        return 0;
      case 'restart':
        await service.stop(stateDir);
        return service.start(stateDir, values.version);
      case 'destroy':
        await service.destroy(stateDir);
        service.log(`Removed ${stateDir}`);
        return 0;
      case 'status': {
        const { running, info } = service.status(stateDir);
        process.stdout.write(`${JSON.stringify({ running, stateDir, ...info }, null, 2)}\n`);
        return running ? 0 : 3;
      }
      default:
        throw new Error(`unknown command "${command}"\n\n${service.usage}`);
    }
  };
}

/** Runs a script's `main(argv)` when the file is the process's entry point (not when imported). */
export function runWhenInvoked(
  metaUrl: string,
  name: string,
  main: (argv: string[]) => Promise<number>,
): void {
  const entry = process.argv[1];
  if (!entry) return;
  try {
    if (realpathSync(entry) !== realpathSync(fileURLToPath(metaUrl))) return;
  } catch {
    return;
  }
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
