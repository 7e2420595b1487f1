/**
 * `switchyard config ...` as a process (scripts/switchyard.mjs runs it): see scripts/config-command.ts.
 */
import { configCommand } from './config-command.ts';

const write = (stream: NodeJS.WriteStream) => (s: string) => {
  stream.write(s);
};
configCommand(process.argv.slice(2), process.env, write(process.stdout), write(process.stderr)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`switchyard config failed: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
