import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import express, { type Express } from 'express';
import { REFRESH_SECONDS, renderReport } from './render.ts';
import type { LiveMapStore } from './store.ts';

/** The report as last computed: body, its gzip and its (strong) ETag. */
interface Report {
  readonly json: Buffer;
  readonly gzip: Buffer;
  readonly etag: string;
  readonly generatedAt: number;
}

export interface ReferenceBackendOptions {
  /** How often the report is recomputed (the old cron job's period). */
  refreshMs: number;
  now?: () => number;
}

export const REPORT_PATH = '/api/live-map.json';
const CACHE_CONTROL = `public, max-age=${REFRESH_SECONDS}`;

/**
 * The old live-map service's HTTP side: `GET /api/live-map.json` answers the report computed at
 * the last refresh (not the data of the moment: that is what makes it "legacy"), with a strong
 * ETag of the body, 304 on `If-None-Match`, `Cache-Control: public, max-age=10` and gzip when
 * asked. Before its store has loaded, it answers 503 as the old service did while warming up.
 */
export class ReferenceBackend {
  readonly app: Express;
  private report: Report | null = null;
  private timer: NodeJS.Timeout | null = null;
  private server: Server | null = null;
  private readonly now: () => number;
  private readonly listeners = new Set<(generatedAt: number) => void>();
  private stopped = false;

  constructor(
    private readonly store: LiveMapStore,
    private readonly opts: ReferenceBackendOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.app = express();
    this.app.disable('x-powered-by');
    this.app.set('etag', false);
    this.app.get('/healthz', (_req, res) => {
      res.json({ status: 'ok', loaded: this.store.isLoaded, generated_at: this.report?.generatedAt ?? null });
    });
    this.app.get(REPORT_PATH, (req, res) => {
      const r = this.report;
      if (!r) {
        res.status(503).set('Retry-After', '1').json({ error: 'warming up' });
        return;
      }
      res.set({ ETag: r.etag, 'Cache-Control': CACHE_CONTROL, Vary: 'Accept-Encoding' });
      const inm = req.get('if-none-match');
      if (inm?.split(',').some((t) => t.trim().replace(/^W\//, '') === r.etag)) {
        res.status(304).end();
        return;
      }
      const gzip = /\bgzip\b/i.test(req.get('accept-encoding') ?? '') && r.json.length >= 1024;
      res.set('Content-Type', 'application/json; charset=utf-8');
      if (gzip) res.set('Content-Encoding', 'gzip');
      const body = gzip ? r.gzip : r.json;
      res.set('Content-Length', String(body.length));
      res.status(200).end(req.method === 'HEAD' ? undefined : body);
    });
  }

  /** Starts the refresh cycle: a first report once the store has loaded, then every refreshMs. */
  start(): void {
    void this.store.whenLoaded().then(() => {
      if (this.stopped) return;
      this.refresh();
      this.timer = setInterval(() => this.refresh(), this.opts.refreshMs);
      this.timer.unref();
    });
  }

  /** Recomputes the report now. */
  refresh(): void {
    const generatedAt = this.now();
    const json = Buffer.from(renderReport(this.store, generatedAt), 'utf8');
    const etag = `"${createHash('sha1').update(json).digest('base64url').slice(0, 20)}"`;
    this.report = { json, gzip: gzipSync(json), etag, generatedAt };
    for (const l of this.listeners) l(generatedAt);
  }

  /** Called after every refresh (tests). */
  onRefresh(listener: (generatedAt: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts the refresh cycle and listens; resolves with the bound port. */
  async listen(port: number, host: string): Promise<number> {
    this.start();
    const server = createServer(this.app);
    server.keepAliveTimeout = 65_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    return (server.address() as AddressInfo).port;
  }

  /** Stops refreshing and closes the server (and its idle connections). */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const s = this.server;
    this.server = null;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }
}
