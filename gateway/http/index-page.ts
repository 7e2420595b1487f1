import { Router as createRouter, type Router } from 'express';
import { htmlSecurityHeaders } from '../security/security-headers.ts';
import { ADMIN_OPENAPI } from './openapi.ts';

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard</title></head>
<body>
<h1>Switchyard</h1>
<ul>
<li><a href="/compare">/compare</a>: polling and SSE side by side, with the gateway's latency figures</li>
<li><a href="/demo/">/demo/</a>: the old polling page and the same page on the client kit</li>
<li><a href="/metrics">/metrics</a>: Prometheus metrics (every worker of this instance)</li>
<li><a href="/v1/stats/latency">/v1/stats/latency</a>: latency percentiles per transport</li>
<li><a href="/v1/admin/openapi.json">/v1/admin/openapi.json</a>: the admin API (docs/admin-api.md)</li>
<li>Streams: <a href="/v1/stream">/v1/stream</a>, polls: <a href="/v1/snapshot">/v1/snapshot</a></li>
</ul>
<p>Docs, in the repository: README.md, docs/migration-guide.md, docs/operations.md,
docs/observability.md, docs/admin-api.md, docs/configuration.md.</p>
</body></html>
`;

/** `GET /`: links to the pages and documents an operator starts from; `GET /v1/admin/openapi.json`. */
export function indexRouter(): Router {
  const router = createRouter();
  const body = Buffer.from(PAGE);
  router.get('/', htmlSecurityHeaders(), (_req, res) => {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.end(body);
  });
  router.get('/v1/admin/openapi.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-cache');
    res.json(ADMIN_OPENAPI);
  });
  return router;
}
