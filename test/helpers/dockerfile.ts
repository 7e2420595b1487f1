/**
 * A Dockerfile run without a Docker engine (none on this machine or in CI): a small interpreter
 * of the instructions docs/deploy/Dockerfile uses, executed for real. Each stage gets its own
 * directories on the host, and every RUN, and the final container, executes in a private mount
 * namespace (`unshare`, as root) where those directories ARE the absolute paths the Dockerfile
 * names (/src, /pkg, /app, /tmp), the rest of the host's filesystem read-only, so a step that
 * writes elsewhere fails instead of changing this machine.
 *
 * Supported: FROM (the one base image, or `AS name`), WORKDIR, COPY (files and folders from the
 * build context, `--from=stage`), RUN (shell form, `/bin/sh -c`), ENV, USER (numeric), EXPOSE,
 * CMD (exec form). Anything else, or a form of these it does not model (wildcards, variables,
 * `--chown`, a .dockerignore, a path outside the stage's own directories), throws naming the line:
 * the test fails loudly rather than silently running something other than what Docker would.
 *
 * The deliberate differences from `docker build`: the base image's node and npm are the host's
 * (Node 20, the same major as node:20-bookworm-slim; npm here may be newer than the image's 10),
 * and its npm cache is the host's, seen
 * through an overlay (so `npm cache clean` in a stage cleans only the stage's view).
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, posix } from 'node:path';

/** The base image the Dockerfile may start from, and what the host stands in for. */
export const BASE_IMAGE = 'node:20-bookworm-slim';
/** The environment node:20-bookworm-slim's image config sets (`docker inspect`). */
const BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  NODE_VERSION: process.versions.node,
};
/**
 * The directories a stage owns (bind-mounted from the stage's folder). Any other absolute path
 * a WORKDIR, COPY or RUN names is refused: the host's root is read-only in the namespace.
 */
const STAGE_DIRS = ['/src', '/pkg', '/app', '/tmp'] as const;
/** Roots whose absolute paths a RUN may read (the host stands in for the base image there). */
const BASE_DIRS = new Set(['usr', 'bin', 'etc', 'dev', 'proc', 'lib', 'sbin', 'var']);
const HOST_NPM_CACHE = '/root/.npm';

/** One instruction of the Dockerfile, continuation lines joined. */
export interface Instruction {
  readonly op: string;
  readonly args: string;
  readonly line: number;
}

/** A built stage: its folder on the host and the image config its instructions set. */
export interface Stage {
  readonly name: string | null;
  /** The host folder holding this stage's own directories (one sub-folder per STAGE_DIRS). */
  readonly root: string;
  workdir: string;
  readonly env: Record<string, string>;
  /** Numeric uid:gid, root by default. */
  user: { uid: number; gid: number };
  readonly expose: string[];
  cmd: string[] | null;
}

/** A bind mount into a container started from a stage (`docker run -v host:target[:ro]`). */
export interface Mount {
  readonly host: string;
  readonly target: string;
  readonly readOnly?: boolean;
}

export class DockerfileError extends Error {}

/** Splits a Dockerfile into instructions: comments dropped, `\` continuations joined. */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (pending === '' && /^\s*(#|$)/.test(line)) return;
    if (pending !== '' && /^\s*#/.test(line)) return; // comments inside a continuation
    if (pending === '') start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const whole = (pending + line).trim();
    pending = '';
    const m = /^(\S+)\s+([\s\S]*)$/.exec(whole);
    if (!m) throw new DockerfileError(`line ${start}: no arguments: ${whole}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  });
  if (pending !== '') throw new DockerfileError('the file ends inside a continuation line');
  return out;
}

/** A host path for `abs` inside `stage`, refusing paths outside the stage's own directories. */
function hostPath(stage: Stage, abs: string, at: Instruction): string {
  const norm = posix.normalize(abs);
  const top = STAGE_DIRS.find((d) => norm === d || norm.startsWith(`${d}/`));
  if (!top)
    throw new DockerfileError(
      `line ${at.line}: ${at.op} names ${abs}, outside the directories this emulation isolates (${STAGE_DIRS.join(', ')})`,
    );
  return join(stage.root, norm);
}

function absolute(stage: Stage, p: string): string {
  return posix.isAbsolute(p) ? p : posix.join(stage.workdir, p);
}

/** Every absolute path a RUN's shell text names must be a stage's or the base image's. */
function checkRunPaths(stage: Stage, at: Instruction): void {
  for (const m of at.args.matchAll(/(?:^|[\s='"])(\/[^\s;&|'"]*)/g)) {
    const p = m[1]!;
    const top = p.split('/')[1] ?? '';
    if (!BASE_DIRS.has(top)) hostPath(stage, p, at);
  }
}

/** The instructions' arguments in the forms modelled here. */
function parseCopy(at: Instruction): { from: string | null; sources: string[]; dest: string } {
  const words = at.args.split(/\s+/);
  let from: string | null = null;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    const m = /^--from=(.+)$/.exec(flag);
    if (!m) throw new DockerfileError(`line ${at.line}: COPY ${flag} is not modelled`);
    from = m[1]!;
  }
  if (words.length < 2 || words.some((w) => /[*?[$]/.test(w) || w.startsWith('[')))
    throw new DockerfileError(`line ${at.line}: COPY ${at.args}: only plain paths are modelled`);
  const dest = words.pop()!;
  return { from, sources: words, dest };
}

function parseEnv(at: Instruction): [string, string][] {
  if (at.args.includes('$')) throw new DockerfileError(`line ${at.line}: ENV with variables is not modelled`);
  const pairs = [...at.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)];
  const rebuilt = pairs.map((p) => p[0]).join(' ');
  if (pairs.length === 0 || rebuilt !== at.args.replace(/\s+/g, ' '))
    throw new DockerfileError(`line ${at.line}: ENV ${at.args}: only KEY=value pairs are modelled`);
  return pairs.map((p) => [p[1]!, p[2]!.replace(/^"(.*)"$/, '$1')]);
}

function parseUser(at: Instruction): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(at.args);
  if (!m) throw new DockerfileError(`line ${at.line}: USER ${at.args}: only a numeric uid[:gid] is modelled`);
  const uid = Number(m[1]);
  return { uid, gid: m[2] === undefined ? uid : Number(m[2]) };
}

function parseCmd(at: Instruction): string[] {
  let cmd: unknown;
  try {
    cmd = JSON.parse(at.args);
  } catch {
    throw new DockerfileError(`line ${at.line}: CMD must be the exec form (a JSON array): ${at.args}`);
  }
  if (!Array.isArray(cmd) || cmd.length === 0 || !cmd.every((w) => typeof w === 'string'))
    throw new DockerfileError(`line ${at.line}: CMD must be a non-empty JSON array of strings`);
  return cmd as string[];
}

/** Quotes a word for /bin/sh. */
const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The shell script that sets up a stage's namespace (run by `unshare -m` as root on the host)
 * and then execs `inner` as the stage's user with exactly `env` in `cwd`.
 */
function namespaceScript(
  stage: Stage,
  opts: { mounts?: readonly Mount[]; npmOverlay?: string; readOnlyImage?: boolean },
  env: Record<string, string>,
  cwd: string,
  argv: readonly string[],
): string {
  const lines = ['set -e'];
  for (const d of STAGE_DIRS.filter((d) => d !== '/tmp'))
    lines.push(`mount --bind ${sh(join(stage.root, d))} ${d}`);
  if (opts.npmOverlay)
    lines.push(
      `mount -t overlay overlay -o ${sh(`lowerdir=${HOST_NPM_CACHE},upperdir=${opts.npmOverlay}/upper,workdir=${opts.npmOverlay}/work`)} ${HOST_NPM_CACHE}`,
    );
  for (const m of opts.mounts ?? []) {
    lines.push(`mount --bind ${sh(m.host)} ${sh(m.target)}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${sh(m.target)}`);
  }
  // Last: /tmp (every host path above may live under the host's /tmp).
  lines.push(`mount --bind ${sh(join(stage.root, 'tmp'))} /tmp`);
  if (opts.readOnlyImage) for (const d of STAGE_DIRS) lines.push(`mount -o remount,bind,ro ${d}`);
  // Everything else of the host: read-only in here (a per-mount flag: the host keeps its own).
  lines.push('mount -o remount,bind,ro /');
  lines.push(`cd ${sh(cwd)}`);
  const envWords = Object.entries(env).map(([k, v]) => sh(`${k}=${v}`));
  const user =
    stage.user.uid === 0
      ? []
      : ['setpriv', `--reuid=${stage.user.uid}`, `--regid=${stage.user.gid}`, '--clear-groups', '--'];
  lines.push(`exec ${[...user, 'env', '-i', ...envWords, ...argv.map(sh)].join(' ')}`);
  return lines.join('\n');
}

/** Docker's environment for a process of the stage: the image's ENV, HOME and HOSTNAME. */
function processEnv(stage: Stage): Record<string, string> {
  // HOME: /root for root (its passwd entry); `/` for a uid the image's passwd does not name.
  return { ...stage.env, HOSTNAME: 'switchyard-test', HOME: stage.user.uid === 0 ? '/root' : '/' };
}

/** Creates the (empty) mount points the namespaces need on the host; returns the ones it made. */
function ensureMountPoints(): string[] {
  const made: string[] = [];
  for (const d of STAGE_DIRS) {
    if (existsSync(d)) {
      if (!statSync(d).isDirectory())
        throw new DockerfileError(`${d} exists on this host and is not a folder`);
      continue;
    }
    mkdirSync(d);
    made.push(d);
  }
  return made;
}

/** Builds a Dockerfile; `build()` returns its stages, `cleanup()` removes every trace. */
export class DockerfileBuild {
  readonly stages: Stage[] = [];
  private readonly work = mkdtempSync(join(tmpdir(), 'switchyard-image-'));
  private readonly madeMountPoints = ensureMountPoints();

  constructor(
    private readonly dockerfile: string,
    private readonly context: string,
    private readonly log: (line: string) => void = () => {},
  ) {
    if (existsSync(join(context, '.dockerignore')))
      throw new DockerfileError('.dockerignore is not modelled: the COPY steps would copy what Docker skips');
  }

  /** Runs every instruction in order; throws on the first failure, naming the line. */
  async build(): Promise<Stage[]> {
    for (const at of parseDockerfile(readFileSync(this.dockerfile, 'utf8'))) await this.step(at);
    if (this.stages.length === 0) throw new DockerfileError('no FROM');
    return this.stages;
  }

  /** The last stage (the image `docker build` tags). */
  get image(): Stage {
    const s = this.stages.at(-1);
    if (!s) throw new DockerfileError('not built');
    return s;
  }

  private current(at: Instruction): Stage {
    const s = this.stages.at(-1);
    if (!s) throw new DockerfileError(`line ${at.line}: ${at.op} before FROM`);
    return s;
  }

  private async step(at: Instruction): Promise<void> {
    this.log(`[image] line ${at.line}: ${at.op} ${at.args.slice(0, 100)}`);
    switch (at.op) {
      case 'FROM': {
        const m = /^(\S+)(?:\s+AS\s+([a-z][a-z0-9_.-]*))?$/i.exec(at.args);
        if (!m || m[1] !== BASE_IMAGE)
          throw new DockerfileError(
            `line ${at.line}: FROM ${at.args}: only ${BASE_IMAGE} [AS name] is modelled`,
          );
        const root = join(this.work, `stage-${this.stages.length}`);
        for (const d of STAGE_DIRS) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
        spawnSync('chmod', ['1777', join(root, 'tmp')]);
        this.stages.push({
          name: m[2] ?? null,
          root,
          workdir: '/',
          env: { ...BASE_ENV },
          user: { uid: 0, gid: 0 },
          expose: [],
          cmd: null,
        });
        return;
      }
      case 'WORKDIR': {
        const s = this.current(at);
        s.workdir = absolute(s, at.args);
        mkdirSync(hostPath(s, s.workdir, at), { recursive: true });
        return;
      }
      case 'COPY': {
        const s = this.current(at);
        const { from, sources, dest } = parseCopy(at);
        const src = from === null ? null : this.stages.find((x) => x.name === from);
        if (from !== null && !src) throw new DockerfileError(`line ${at.line}: no stage named ${from}`);
        const destAbs = absolute(s, dest);
        const intoDir = dest.endsWith('/') || sources.length > 1;
        for (const source of sources) {
          const from = src ? hostPath(src, absolute(src, source), at) : join(this.context, source);
          if (!src && posix.normalize(source).startsWith('..'))
            throw new DockerfileError(`line ${at.line}: ${source} is outside the build context`);
          if (!existsSync(from)) throw new DockerfileError(`line ${at.line}: COPY: ${source} not found`);
          const target = hostPath(s, destAbs, at);
          // A folder's contents go into the destination; a file into it (dest/) or as it.
          const to = statSync(from).isDirectory() || !intoDir ? target : join(target, basename(from));
          mkdirSync(statSync(from).isDirectory() ? to : join(to, '..'), { recursive: true });
          cpSync(from, to, { recursive: true });
        }
        return;
      }
      case 'RUN': {
        const s = this.current(at);
        if (at.args.startsWith('['))
          throw new DockerfileError(`line ${at.line}: RUN exec form is not modelled`);
        checkRunPaths(s, at);
        const overlay = join(this.work, `npm-${at.line}`);
        mkdirSync(join(overlay, 'upper'), { recursive: true });
        mkdirSync(join(overlay, 'work'), { recursive: true });
        // The host's npm cache, read offline first (the one other difference; see the header).
        const env = { ...processEnv(s), npm_config_prefer_offline: 'true' };
        const code = await runInherit(
          namespaceScript(s, { npmOverlay: overlay }, env, s.workdir, ['/bin/sh', '-c', at.args]),
          this.log,
        );
        rmSync(overlay, { recursive: true, force: true });
        if (code !== 0) throw new DockerfileError(`line ${at.line}: RUN exited ${code}: ${at.args}`);
        return;
      }
      case 'ENV': {
        const s = this.current(at);
        for (const [k, v] of parseEnv(at)) s.env[k] = v;
        return;
      }
      case 'USER':
        this.current(at).user = parseUser(at);
        return;
      case 'EXPOSE':
        this.current(at).expose.push(...at.args.split(/\s+/));
        return;
      case 'CMD':
        this.current(at).cmd = parseCmd(at);
        return;
      default:
        throw new DockerfileError(`line ${at.line}: instruction ${at.op} is not modelled by this test`);
    }
  }

  /** The host path of an absolute path in the final image (to inspect what it holds). */
  imagePath(abs: string): string {
    return hostPath(this.image, abs, { op: 'inspect', args: abs, line: 0 });
  }

  /**
   * `docker run` of the final image: its CMD (or `argv`) as its USER in its WORKDIR with its ENV
   * (plus `env`), the given bind mounts, in its own PID namespace (the process is PID 1 there, as
   * in a container, so SIGTERM reaches it only if it handles it) on the host's network, with the
   * image and the rest of the host read-only (as `readOnlyRootFilesystem: true`).
   * Returns the `unshare` process; `containerPid()` gives the host pid of PID 1.
   */
  run(opts: { mounts?: readonly Mount[]; env?: Record<string, string>; argv?: readonly string[] } = {}) {
    const s = this.image;
    const argv = opts.argv ?? s.cmd;
    if (!argv) throw new DockerfileError('the image has no CMD');
    // A file mounted over a path of the image needs a mount point there (Docker makes one too).
    for (const m of opts.mounts ?? []) {
      const point = hostPath(s, m.target, { op: 'run -v', args: m.target, line: 0 });
      if (!existsSync(point)) {
        if (statSync(m.host).isDirectory()) mkdirSync(point, { recursive: true });
        else spawnSync('touch', [point]);
      }
    }
    const script = namespaceScript(
      s,
      { mounts: opts.mounts ?? [], readOnlyImage: true },
      { ...processEnv(s), ...opts.env },
      s.workdir,
      argv,
    );
    return spawn(
      'unshare',
      ['--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', 'sh', '-c', script],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  }

  /** Removes the stages' folders and the mount points this build created on the host. */
  cleanup(): void {
    rmSync(this.work, { recursive: true, force: true });
    for (const d of this.madeMountPoints) {
      try {
        rmdirSync(d);
      } catch {
        // still in use by a namespace that has not ended yet: left empty, removed next time
      }
    }
  }
}

/** The host pid of the container's PID 1: the one child `unshare --fork` started. */
export function containerPid(unsharePid: number): number | null {
  try {
    const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim();
    return children === '' ? null : Number(children.split(/\s+/)[0]);
  } catch {
    return null;
  }
}

/** Runs a namespace script as a RUN step, its output passed to `log` line by line. */
function runInherit(script: string, log: (line: string) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const keep = (b: Buffer) => {
      for (const l of b.toString().split('\n')) if (l.trim()) log(`  ${l}`);
      tail = (tail + b.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0) log(tail);
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}
