import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Request, Response, Router } from 'express';
import { gatewayRouter } from '../../gateway/http/exact-router.ts';
import { etagMatches } from '../../gateway/poll/versioned-body.ts';

/** Served paths: the kit as one ES module, and its source map. */
export const CLIENT_JS_PATH = '/v1/client.js';
export const CLIENT_MAP_PATH = '/v1/client.js.map';

interface Bundle {
  js: Buffer;
  map: Buffer;
  etag: string;
}

/** The browser kit's folder (compat/client/): this server-side route bundles it. */
const KIT = join(dirname(fileURLToPath(import.meta.url)), '..', 'client');
const ENTRY = join(KIT, 'index.ts');
/** Where `npm run build` writes the bundle (dist/compat/client/browser/), read by the built package. */
const PREBUILT = join(KIT, 'browser');

/**
 * The kit (compat/client/index.ts and what it imports) as one browser ES module: read from
 * PREBUILT in the built package (bundled at build time; esbuild is not a production dependency),
 * else bundled now with esbuild (the repository's development run). The router keeps the result.
 */
export async function bundleClientKit(entry = ENTRY): Promise<Bundle> {
  if (entry === ENTRY && existsSync(join(PREBUILT, 'client.js'))) {
    const [js, map] = await Promise.all([
      readFile(join(PREBUILT, 'client.js')),
      readFile(join(PREBUILT, 'client.js.map')),
    ]);
    return withEtag(js, map);
  }
  const { build } = await import('esbuild');
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
  return withEtag(Buffer.from(js.contents), Buffer.from(map.contents));
}

function withEtag(js: Buffer, map: Buffer): Bundle {
  const etag = `"${createHash('sha256').update(js).digest('base64url').slice(0, 22)}"`;
  return { js, map, etag };
}

/** The build step (scripts/build.mjs): bundles `entry` into PREBUILT of this (emitted) module. */
export async function writeClientBundle(entry: string): Promise<void> {
  const b = await bundleClientKit(entry);
  await mkdir(PREBUILT, { recursive: true });
  await Promise.all([
    writeFile(join(PREBUILT, 'client.js'), b.js),
    writeFile(join(PREBUILT, 'client.js.map'), b.map),
  ]);
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
