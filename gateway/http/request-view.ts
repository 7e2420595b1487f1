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

/**
 * A trust function for X-Forwarded-For, compiled from TRUST_PROXY exactly as express compiles
 * it; null when no proxy is trusted (the socket's address is the client's).
 */
export type TrustFn = (addr: string, hop: number) => boolean;

export function compileTrust(trustProxy: SecurityConfig['trustProxy']): TrustFn | null {
  if (trustProxy === false) return null;
  if (typeof trustProxy === 'number') return (_addr, hop) => hop < trustProxy;
  return proxyAddr.compile([...trustProxy]);
}

/**
 * Builds request views for the front door: query parsed by the same `simple` parser the express
 * app uses (node:querystring), client address by the same trust rules. Parsed queries are
 * frozen and shared between requests with the same query text (pollers repeat theirs), in a
 * bounded table.
 */
export class RequestViews {
  private readonly queries = new Map<string, Readonly<Record<string, unknown>>>();

  constructor(
    private readonly trust: TrustFn | null,
    private readonly maxQueries = 512,
  ) {}

  /** The view of `req`, whose URL has its `?` at `queryAt` (-1: none). */
  of(req: IncomingMessage, queryAt: number): RequestView {
    return {
      method: req.method,
      headers: req.headers,
      query: queryAt < 0 ? EMPTY_QUERY : this.query((req.url ?? '').slice(queryAt + 1)),
      ip: this.trust === null ? req.socket.remoteAddress : proxyAddr(req, this.trust),
      socket: req.socket,
    };
  }

  private query(text: string): Readonly<Record<string, unknown>> {
    // Long texts (tokens, odd selections) are parsed each time: the table is for repeated polls.
    if (text.length > MAX_SHARED_QUERY) return Object.freeze(parseQuery(text));
    let q = this.queries.get(text);
    if (q === undefined) {
      q = Object.freeze(parseQuery(text));
      // Clients choose the texts: forget them all rather than grow (a refill is one parse each).
      if (this.queries.size >= this.maxQueries) this.queries.clear();
      this.queries.set(text, q);
    }
    return q;
  }
}

const MAX_SHARED_QUERY = 256;
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
