import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Request, Response, Router } from 'express';
import { gatewayRouter } from '../../gateway/http/router.ts';
import { etagMatches } from '../../gateway/poll/versioned-body.ts';

/** Served paths: the kit as one ES module, and its source map. */
export const CLIENT_JS_PATH = '/v1/client.js';
export const CLIENT_MAP_PATH = '/v1/client.js.map';

interface Bundle {
  js: Buffer;
  map: Buffer;
  etag: string;
}

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'index.ts');

/**
 * Bundles the kit (compat/client/index.ts and what it imports) into one browser ES module with
 * esbuild. Pure build step, no I/O besides reading the sources; the result is kept by the router.
 */
export async function bundleClientKit(entry = ENTRY): Promise<Bundle> {
  const out = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2020'],
    sourcemap: 'linked',
    outfile: 'client.js',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  const js = out.outputFiles.find((f) => f.path.endsWith('.js'));
  const map = out.outputFiles.find((f) => f.path.endsWith('.js.map'));
  if (!js || !map) throw new Error('esbuild produced no client bundle');
  const etag = `"${createHash('sha256').update(js.contents).digest('base64url').slice(0, 22)}"`;
  return { js: Buffer.from(js.contents), map: Buffer.from(map.contents), etag };
}

/**
 * `GET /v1/client.js` (and `.map`): the kit, bundled lazily on the first request and then
 * served from memory with an ETag (`Cache-Control: no-cache`: browsers revalidate, and get a
 * 304 until the gateway is upgraded). A failed build answers 500 and is retried next time.
 */
export function clientKitRouter(entry = ENTRY): Router {
  const router = gatewayRouter();
  let bundle: Promise<Bundle> | null = null;
  const get = (): Promise<Bundle> => {
    bundle ??= bundleClientKit(entry).catch((err: unknown) => {
      bundle = null;
      throw err;
    });
    return bundle;
  };
  const serve = (pick: (b: Bundle) => Buffer, type: string) => async (req: Request, res: Response) => {
    const b = await get();
    res.setHeader('ETag', b.etag);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (etagMatches(req.get('if-none-match'), b.etag)) {
      res.status(304).end();
      return;
    }
    const body = pick(b);
    res.setHeader('Content-Type', type);
    res.setHeader('Content-Length', String(body.length));
    res.status(200).end(req.method === 'HEAD' ? undefined : body);
  };
  const jsHandler = serve((b) => b.js, 'text/javascript; charset=utf-8');
  const mapHandler = serve((b) => b.map, 'application/json; charset=utf-8');
  router.get(CLIENT_JS_PATH, (req, res, next) => {
    jsHandler(req, res).catch(next);
  });
  router.get(CLIENT_MAP_PATH, (req, res, next) => {
    mapHandler(req, res).catch(next);
  });
  return router;
}
