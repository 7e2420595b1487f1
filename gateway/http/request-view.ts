import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import proxyAddr from 'proxy-addr';
import type { SecurityConfig } from '../config/security-config.ts';

/**
 * What the gateway's request logic reads of a request. An express `Request` is one; the
 * pipeline's exchange builds one for the front door (pipeline.ts `Exchange`), so both paths share the same
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
 * The query parser of every route: node:querystring (express's `simple` parser), a string per
 * parameter or an array when repeated. The express app is given this one (app.ts), the front
 * door reads it through {@link RequestViews}.
 */
export function parseQueryText(text: string): Record<string, unknown> {
  return parseQuery(text);
}

/**
 * Builds request views: query parsed by {@link parseQueryText}, client address by the trust
 * rules of {@link compileTrust} (the express app is given the same function as its
 * `trust proxy`). Parsed queries are frozen and shared between requests with the same query
 * text (pollers repeat theirs), in a bounded table.
 */
export class RequestViews {
  private readonly queries = new Map<string, Readonly<Record<string, unknown>>>();

  constructor(
    readonly trust: TrustFn | null,
    private readonly maxQueries = 512,
  ) {}

  /** Client address of `req` after TRUST_PROXY (the socket's when no proxy is trusted). */
  ipOf(req: IncomingMessage): string | undefined {
    return this.trust === null ? req.socket.remoteAddress : proxyAddr(req, this.trust);
  }

  /**
   * The view of `req`, whose URL has its `?` at `queryAt` (-1: none); `ip` when the caller
   * already has the client address.
   */
  of(
    req: IncomingMessage,
    queryAt: number,
    ip: string | undefined = this.ipOf(req),
    query: Readonly<Record<string, unknown>> = this.queryOf(req.url ?? '', queryAt),
  ): RequestView {
    return { method: req.method, headers: req.headers, query, ip, socket: req.socket };
  }

  /** The parsed query of `url`, whose `?` is at `queryAt` (-1: none). */
  queryOf(url: string, queryAt: number): Readonly<Record<string, unknown>> {
    return queryAt < 0 ? EMPTY_QUERY : this.query(url.slice(queryAt + 1));
  }

  private query(text: string): Readonly<Record<string, unknown>> {
    // Long texts (tokens, odd selections) are parsed each time: the table is for repeated polls.
    if (text.length > MAX_SHARED_QUERY) return Object.freeze(parseQueryText(text));
    let q = this.queries.get(text);
    if (q === undefined) {
      q = Object.freeze(parseQueryText(text));
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
