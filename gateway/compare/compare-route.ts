import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Response, Router } from 'express';
import type { SnapshotCache } from '../cache/snapshot-cache.ts';
import type { Config } from '../config/load.ts';
import { GatewayError } from '../errors.ts';
import { gatewayRouter } from '../http/exact-router.ts';
import { streamGrantOf } from '../http/stream-grant.ts';
import { htmlSecurityHeaders } from '../security/security-headers.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/**
 * The page itself is browser code and lives with the other browser code, in compat/compare-ui/
 * (copied to dist/compat/compare-ui by `npm run build`, the same place relative to this module).
 */
const COMPARE_UI_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'compat', 'compare-ui');

/** The page's files and uPlot's, read once at start (a few hundred KB, served from memory). */
function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const add = (name: string, path: string): void => {
    const body = readFileSync(path);
    const etag = `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`;
    assets.set(name, { body, type: TYPES[extname(name)] ?? 'application/octet-stream', etag });
  };
  for (const name of readdirSync(COMPARE_UI_DIR))
    if (TYPES[extname(name)]) add(name, join(COMPARE_UI_DIR, name));
  const uplot = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'));
  add('uPlot.esm.js', join(uplot, 'uPlot.esm.js'));
  add('uPlot.min.css', join(uplot, 'uPlot.min.css'));
  return assets;
}

/** What the compare page reads: the streams to draw, the poll interval, the clock. */
export interface CompareHost {
  readonly cache: Pick<SnapshotCache, 'streams'>;
  readonly config: Pick<Config, 'pollIntervalMs'>;
  readonly now: () => number;
}

/**
 * `/compare`: polling and SSE side by side on the demo's data, with the gateway's latency
 * percentiles under them. Routes: `GET /compare` (the page), `GET /compare/assets/<file>`,
 * `GET /compare/config.json` (poll interval, which streams to draw, server time).
 */
export function compareRouter(ctx: CompareHost): Router {
  const assets = loadAssets();
  const router = gatewayRouter();
  // The gateway's one policy for HTML pages: own scripts and styles only, no inline script.
  router.use('/compare', htmlSecurityHeaders());
  const send = (res: Response, ifNoneMatch: string | undefined, asset: Asset): void => {
    res.setHeader('Content-Type', asset.type);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('ETag', asset.etag);
    if (ifNoneMatch === asset.etag) {
      res.status(304).end();
      return;
    }
    res.setHeader('Content-Length', String(asset.body.length));
    res.status(200).end(asset.body);
  };
  router.get(['/compare', '/compare/'], (req, res) =>
    send(res, req.get('if-none-match'), assets.get('index.html')!),
  );
  router.get('/compare/assets/:name', (req, res, next) => {
    const asset = assets.get(String(req.params.name));
    if (!asset || req.params.name === 'index.html') return next(new GatewayError('NOT_FOUND'));
    send(res, req.get('if-none-match'), asset);
  });
  router.get('/compare/config.json', (req, res) => {
    const streams = [...ctx.cache.streams.values()];
    const pick = (mode: 'feed' | 'table', preferred: string): string | null =>
      (streams.find((s) => s.name === preferred && s.mode === mode) ?? streams.find((s) => s.mode === mode))
        ?.name ?? null;
    const feed = pick('feed', 'orders');
    const table = pick('table', 'totals');
    // It names streams: with stream tokens on, only to a token that opens them (as the page's
    // own stream and polls need anyway); 401/403 otherwise, like /v1/snapshot. The pipeline
    // verified the token (route-table.ts: `auth: 'stream'`); here it only authorises.
    streamGrantOf(req).assertAllows([feed, table].filter((n): n is string => n !== null));
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      serverTime: ctx.now(),
      pollIntervalMs: ctx.config.pollIntervalMs,
      feed,
      table,
    });
  });
  return router;
}
