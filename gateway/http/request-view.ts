import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import proxyAddr from 'proxy-addr';
import type { SecurityConfig } from '../security/security-config.ts';

/**
 * What the gateway's request logic reads of a request. An express `Request` is one; the
 * node:http front door (front-door.ts) builds one without express, so both paths share the same
 * checks (tokens, rate limits, pollers, query rules).
 */
export interface RequestView {
  readonly method?: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** Query parameters as the `simple` parser gives them: a string, or an array when repeated. */
  readonly query: Readonly<Record<string, unknown>>;
  /** Client address after TRUST_PROXY (docs/security.md); the socket's when undefined. */
  readonly ip?: string | undefined;
  readonly socket: Socket;
}

/** A header's value as one string (the first of a repeated one), or undefined. */
export function header(req: { readonly headers: IncomingHttpHeaders }, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A trust function for X-Forwarded-For, compiled from TRUST_PROXY exactly as express compiles it. */
export type TrustFn = (addr: string, hop: number) => boolean;

export function compileTrust(trustProxy: SecurityConfig['trustProxy']): TrustFn {
  if (trustProxy === false) return () => false;
  if (typeof trustProxy === 'number') return (_addr, hop) => hop < trustProxy;
  return proxyAddr.compile([...trustProxy]);
}

/**
 * The view of a request the front door serves: query parsed by the same `simple` parser the
 * express app uses (node:querystring), client address by the same trust rules.
 */
export function viewOf(req: IncomingMessage, trust: TrustFn, queryAt: number): RequestView {
  const url = req.url ?? '';
  return {
    method: req.method,
    headers: req.headers,
    query: queryAt < 0 ? EMPTY_QUERY : parseQuery(url.slice(queryAt + 1)),
    ip: proxyAddr(req, trust),
    socket: req.socket,
  };
}

const EMPTY_QUERY: Readonly<Record<string, unknown>> = Object.freeze({});

/** Appends a field to the response's `Vary` header once (what express's `res.vary` does). */
export function appendVary(res: ServerResponse, field: string): void {
  const cur = res.getHeader('Vary');
  if (cur === undefined) {
    res.setHeader('Vary', field);
    return;
  }
  const text = Array.isArray(cur) ? cur.join(', ') : String(cur);
  const lower = field.toLowerCase();
  if (text === '*' || text.split(',').some((f) => f.trim().toLowerCase() === lower)) return;
  res.setHeader('Vary', `${text}, ${field}`);
}
