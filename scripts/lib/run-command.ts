/** Short-lived tools (`mvn`, `java`, `tar`) run to completion, with errors that say what failed. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** The last `count` lines of `text`. */
export function tailLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

/** What to install for a tool the scripts run, where the project needs a particular one. */
const INSTALL_HINTS: Readonly<Record<string, string>> = {
  mvn: 'Maven 3.8+ is needed',
  java: 'a JDK 17+ is needed',
  javac: 'a JDK 17+ is needed',
};

/** "`cmd` not found on PATH (what to install)", the hint only where one is known. */
export function notFoundMessage(cmd: string): string {
  const hint = INSTALL_HINTS[cmd];
  return `\`${cmd}\` not found on PATH${hint ? ` (${hint})` : ''}`;
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
