/**
 * What the test services (scripts/kafka.ts, scripts/schema-registry.ts) fetch from Maven Central
 * once per version and keep under one cache root.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { isPidAlive } from './detached-process.ts';
import { runCommand } from './run-command.ts';

/** The Maven plugin that copies artifacts (`:copy`) and their dependencies (`:copy-dependencies`). */
export const MAVEN_DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';

/** `$SWITCHYARD_CACHE_DIR`, else `$XDG_CACHE_HOME/switchyard`, else `~/.cache/switchyard`. */
export function cacheRoot(): string {
  const explicit = process.env.SWITCHYARD_CACHE_DIR;
  if (explicit) return resolve(explicit);
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'switchyard');
}

/** Runs `mvn -B -q <args>` (batch mode, quiet); see {@link runCommand} for its errors. */
export function runMaven(args: string[]): Promise<string> {
  return runCommand('mvn', ['-B', '-q', ...args]);
}

/**
 * Returns `<dir>/<name>`, filling it with `fill` first unless `<dir>/.complete` says it is done.
 * `fill` writes into a private directory of this process (`<name>.partial-<pid>`), renamed into
 * place once full and the marker written last: a concurrent or killed run never leaves a
 * half-filled `<name>` that looks complete, and the partial dirs of dead processes are removed.
 */
export async function fillOnce(
  dir: string,
  name: string,
  fill: (into: string) => Promise<void>,
): Promise<string> {
  const target = join(dir, name);
  const marker = join(dir, '.complete');
  if (existsSync(marker)) return target;
  await mkdir(dir, { recursive: true });
  for (const entry of readdirSync(dir)) {
    const pid = new RegExp(`^${name}\\.partial-(\\d+)$`).exec(entry)?.[1];
    if (pid !== undefined && (Number(pid) === process.pid || !isPidAlive(Number(pid))))
      await rm(join(dir, entry), { recursive: true, force: true });
  }
  const partial = join(dir, `${name}.partial-${process.pid}`);
  await mkdir(partial, { recursive: true });
  await fill(partial);
  if (existsSync(marker)) {
    await rm(partial, { recursive: true, force: true }); // another process finished first
    return target;
  }
  await rm(target, { recursive: true, force: true });
  await rename(partial, target);
  await writeFile(marker, `${new Date().toISOString()}\n`);
  return target;
}
