import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import { gatewayRouter } from '../../gateway/http/exact-router.ts';
import { htmlSecurityHeaders } from '../../gateway/security/security-headers.ts';

/** Where the demo pages live: the old polling page and the same page on the client kit. */
export const DEMO_DIR = join(dirname(fileURLToPath(import.meta.url)), 'public');

/**
 * `GET /demo/` (index), `/demo/old.html` (polls every 10 s) and `/demo/kit.html` (the same page
 * changed in a few lines to use the client kit). Static files only, scripts in files of their
 * own (no inline script), served under the gateway's strict Content-Security-Policy.
 */
export function demoRouter(): Router {
  const router = gatewayRouter();
  router.use(
    '/demo',
    htmlSecurityHeaders(),
    express.static(DEMO_DIR, {
      index: 'index.html',
      fallthrough: true,
      setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
    }),
  );
  return router;
}
