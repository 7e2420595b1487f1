import type { RequestHandler } from 'express';

export interface HtmlSecurityOptions {
  /**
   * Extra origins a page may connect to (fetch / EventSource), e.g. another gateway instance
   * shown side by side. Scripts, styles and images still come only from the gateway itself.
   */
  connectSrc?: readonly string[];
}

/**
 * The Content-Security-Policy of the gateway's HTML pages: scripts, styles, images, fonts and
 * connections from the gateway's own origin only; no inline script, no eval, no plugins, no
 * framing by other sites, no `<base>` rewriting. Inline `style=` attributes are refused too;
 * setting styles from script (`el.style.x = ...`, as uPlot does) is not affected by CSP.
 */
export function contentSecurityPolicy(opts: HtmlSecurityOptions = {}): string {
  const connect = ["'self'", ...(opts.connectSrc ?? [])].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src ${connect}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

/**
 * Security headers for every HTML page the gateway serves (/compare, demo pages): mount it on
 * those routes, e.g. `router.get('/compare', htmlSecurityHeaders(), handler)`. Besides the CSP:
 * no MIME sniffing, no framing, no Referer (stream URLs may carry an `access_token`), and a
 * browsing-context group of its own.
 */
export function htmlSecurityHeaders(opts: HtmlSecurityOptions = {}): RequestHandler {
  const headers: Array<[string, string]> = [
    ['Content-Security-Policy', contentSecurityPolicy(opts)],
    ['X-Content-Type-Options', 'nosniff'],
    ['X-Frame-Options', 'DENY'],
    ['Referrer-Policy', 'no-referrer'],
    ['Cross-Origin-Opener-Policy', 'same-origin'],
    ['Permissions-Policy', 'camera=(), microphone=(), geolocation=(), payment=()'],
  ];
  return (_req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/**
 * Headers for every response (JSON, event streams, scripts), as a flat `[name, value, ...]`
 * list (for one `writeHead`): browsers must not sniff a JSON error or a stream into HTML, and
 * no response carries a Referer onwards. The pipeline sets them (cors.ts).
 */
export const BASE_SECURITY_HEADERS: readonly string[] = Object.freeze([
  'X-Content-Type-Options',
  'nosniff',
  'Referrer-Policy',
  'no-referrer',
]);
