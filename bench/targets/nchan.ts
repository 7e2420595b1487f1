import { existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, spawnTracked, stopChild, waitForHttp } from '../lib/children.ts';
import { httpPublishedSystem } from './http-published.ts';
import type { RunningSystem } from './types.ts';

export const NCHAN_MODULE = '/usr/lib/nginx/modules/ngx_nchan_module.so';

/** A file NGINX serves statically (the polling baseline), with its gzip for gzip_static. */
export interface StaticFile {
  name: string;
  body: Buffer;
  gzip: Buffer;
}

export interface NchanOptions {
  dir: string;
  phase: string;
  /** NGINX workers; 1 by default, like one gateway process (a per-core comparison). */
  workers?: number;
  files?: readonly StaticFile[];
}

/** Whether NGINX and the nchan module are installed (scripts/ensure-system.sh installs them). */
export function nchanAvailable(): boolean {
  return existsSync(NCHAN_MODULE);
}

function config(dir: string, port: number, workers: number): string {
  return `load_module ${NCHAN_MODULE};
worker_processes ${workers};
worker_rlimit_nofile 20000;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? 'user root root;' : ''}
events { worker_connections 19500; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_timeout 65s;
  keepalive_requests 10000000;
  nchan_shared_memory_size 256m;
  server {
    listen 127.0.0.1:${port} backlog=4096;
    # Publisher: one message per POST body; subscribers: EventSource, live messages only.
    location = /pub {
      nchan_publisher;
      nchan_channel_id bench;
      nchan_message_buffer_length 16;
      nchan_message_timeout 60s;
    }
    location = /sub {
      nchan_subscriber eventsource;
      nchan_channel_id bench;
      nchan_subscriber_first_message newest;
      nchan_eventsource_ping_interval 15;
    }
    location = /healthz { return 200 "ok"; }
    # The polling baseline: the snapshot body as a static file (ETag + 304, gzip_static).
    location /static/ {
      alias ${dir}/www/;
      default_type application/json;
      gzip_static on;
      etag on;
    }
  }
}
`;
}

/** Starts NGINX + nchan with its own prefix and config in a temp dir, in the foreground. */
export async function startNchan(o: NchanOptions): Promise<RunningSystem> {
  const dir = join(o.dir, `nginx-${o.phase}`);
  for (const d of ['tmp', 'www']) mkdirSync(join(dir, d), { recursive: true });
  for (const f of o.files ?? []) {
    writeFileSync(join(dir, 'www', f.name), f.body);
    writeFileSync(join(dir, 'www', `${f.name}.gz`), f.gzip);
  }
  const port = await freePort();
  writeFileSync(join(dir, 'nginx.conf'), config(dir, port, o.workers ?? 1));
  const log = openSync(join(dir, 'stdout.log'), 'a');
  const child = spawnTracked('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], {
    stdio: ['ignore', log, log],
  });
  const alive = () => child.exitCode === null && child.signalCode === null;
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitForHttp(`${base}/healthz`, 15_000, alive);
  } catch (err) {
    await stopChild(child);
    throw new Error(`${(err as Error).message}; see ${dir}/error.log`);
  }
  return httpPublishedSystem({ name: 'nchan', label: 'nginx+nchan', port, child, alive });
}

/** Base URL of a running NGINX system (for the static polling files). */
export function baseUrl(sys: RunningSystem): string {
  return `http://${sys.stream.host}:${sys.stream.port}`;
}
