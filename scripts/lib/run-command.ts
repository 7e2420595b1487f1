/** Short-lived tools (`mvn`, `java`, `tar`) run to completion, with errors that say what failed. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The last `count` lines of `text`. */
export function tailLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** "`cmd` not found on PATH (what to install)". */
export function notFoundMessage(cmd: string): string {
  const hint = cmd === 'mvn' ? 'Maven 3.8+ is needed' : 'a JDK 17+ is needed';
  return `\`${cmd}\` not found on PATH (${hint})`;
}

/** Runs a short-lived tool and returns its stdout; on failure the error carries the tail of its output. */
export async function runCommand(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(cmd, args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(notFoundMessage(cmd));
    const output = tailLines(`${e.stdout ?? ''}\n${e.stderr ?? ''}`, 40);
    throw new Error(`\`${cmd} ${args.join(' ')}\` failed:\n${output}`);
  }
}
