/**
 * A real NGINX for tests, configured from the deployment template itself
 * (docs/deploy/nginx.conf.template, rendered by docs/deploy/render-nginx-conf.sh), so the tests
 * exercise the configuration operators run. Each instance lives in its own temp prefix, listens
 * on free loopback ports (TLS + HTTP/2, and plain HTTP), with a self-signed certificate made
 * by openssl once per test process, and runs in the foreground (`-g 'daemon off;'`) as a child
 * of the test in its own process group.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './gateway-process.ts';

const execFileAsync = promisify(execFile);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RENDER = join(ROOT, 'docs', 'deploy', 'render-nginx-conf.sh');
const TEMPLATE = join(ROOT, 'docs', 'deploy', 'nginx.conf.template');

/** A self-signed certificate for `localhost` and 127.0.0.1. */
export interface TestCertificate {
  certPath: string;
  keyPath: string;
  /** The certificate in PEM, to trust as a CA in clients. */
  pem: string;
}

let certificate: Promise<TestCertificate> | undefined;

/** Makes (once per process, removed at exit) a short-lived self-signed EC certificate with openssl. */
export function testCertificate(): Promise<TestCertificate> {
  certificate ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'switchyard-cert-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    await chmod(dir, 0o755);
    const certPath = join(dir, 'cert.pem');
    const keyPath = join(dir, 'key.pem');
    await execFileAsync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      certPath,
    ]);
    return { certPath, keyPath, pem: await readFile(certPath, 'utf8') };
  })();
  return certificate;
}

export interface NginxOptions {
  /** Gateway ports on 127.0.0.1 (or `host:port` strings) that make the upstream group. */
  upstreams: ReadonlyArray<number | string>;
  /** NGINX's cap on open streams per client address (every test client is 127.0.0.1). */
  streamsPerIp?: number;
}

/** A running NGINX in front of the given upstreams. Call `stop()` in `t.after`. */
export class Nginx {
  private exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    /** The temp prefix holding conf, logs and temp dirs. */
    readonly prefix: string,
    /** TLS + HTTP/2 port. */
    readonly tlsPort: number,
    /** Plain HTTP port (redirects to TLS). */
    readonly httpPort: number,
    readonly cert: TestCertificate,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  /** `https://localhost:<port>`: the edge origin (the certificate names localhost). */
  get origin(): string {
    return `https://localhost:${this.tlsPort}`;
  }

  /** Renders the template for `opts.upstreams`, checks it with `nginx -t`, starts NGINX. */
  static async start(opts: NginxOptions): Promise<Nginx> {
    const cert = await testCertificate();
    const prefix = await mkdtemp(join(tmpdir(), 'switchyard-nginx-'));
    // NGINX workers drop root privileges: they must be able to reach the prefix.
    await chmod(prefix, 0o755);
    await mkdir(join(prefix, 'logs'));
    await mkdir(join(prefix, 'temp'));
    const [tlsPort, httpPort] = [await freePort(), await freePort()];
    const conf = await renderConfig({
      SWITCHYARD_UPSTREAMS: opts.upstreams
        .map((u) => (typeof u === 'number' ? `127.0.0.1:${u}` : u))
        .join(' '),
      SWITCHYARD_TLS_LISTEN: `127.0.0.1:${tlsPort}`,
      SWITCHYARD_HTTP_LISTEN: `127.0.0.1:${httpPort}`,
      SWITCHYARD_TLS_CERT: cert.certPath,
      SWITCHYARD_TLS_KEY: cert.keyPath,
      SWITCHYARD_STREAMS_PER_IP: String(opts.streamsPerIp ?? 4096),
    });
    const confPath = join(prefix, 'nginx.conf');
    await writeFile(confPath, conf);
    const args = ['-p', prefix, '-c', confPath, '-e', 'logs/error.log'];
    await execFileAsync('nginx', [...args, '-t', '-q']).catch(async (err: { stderr?: string }) => {
      await rm(prefix, { recursive: true, force: true });
      throw new Error(`nginx -t rejected the rendered template:\n${err.stderr ?? err}`);
    });
    const child = spawn('nginx', [...args, '-g', 'daemon off;'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8192);
    });
    const nginx = new Nginx(child, prefix, tlsPort, httpPort, cert);
    try {
      await nginx.waitListening();
    } catch (err) {
      await nginx.stop();
      throw new Error(`${(err as Error).message}\n${stderr}${await nginx.errorLog()}`);
    }
    return nginx;
  }

  /** The error log so far (for assertion messages). */
  async errorLog(): Promise<string> {
    return readFile(join(this.prefix, 'logs', 'error.log'), 'utf8').catch(() => '');
  }

  /** The access log so far (flushed every second by the template's buffer settings). */
  async accessLog(): Promise<string> {
    return readFile(join(this.prefix, 'logs', 'access.log'), 'utf8').catch(() => '');
  }

  /**
   * Stops NGINX (fast shutdown: open streams are cut) and removes its prefix. If the master
   * does not exit in time, its process group (master + workers) is SIGKILLed. Idempotent.
   */
  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const done = await Promise.race([this.exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await this.exited;
      }
    }
    await rm(this.prefix, { recursive: true, force: true });
  }

  private async waitListening(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`nginx exited with code ${this.child.exitCode}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = tlsConnect({
          host: '127.0.0.1',
          port: this.tlsPort,
          servername: 'localhost',
          ca: this.cert.pem,
        });
        s.once('secureConnect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (ok) return;
      await sleep(50);
    }
    throw new Error(`nginx did not accept TLS connections on ${this.tlsPort} within ${timeoutMs} ms`);
  }
}

/** Runs the deployment renderer with the given placeholders (and nothing else from the env). */
export async function renderConfig(vars: Record<string, string>): Promise<string> {
  const { stdout } = await execFileAsync('sh', [RENDER, TEMPLATE], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...vars },
  });
  return stdout;
}
