import { GatewayError } from '../errors.ts';
import type { RequestView } from './request-view.ts';

/** A single-valued string query parameter, or undefined; repeated or nested values are 400s. */
export function queryString(
  req: Pick<RequestView, 'query'>,
  name: string,
  maxLength = 2048,
): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string')
    throw new GatewayError('BAD_QUERY', `${name} must be given once, as a plain string`, {
      details: { parameter: name },
    });
  if (v.length > maxLength)
    throw new GatewayError('BAD_QUERY', `${name} is longer than ${maxLength} characters`, {
      details: { parameter: name },
    });
  return v;
}

/** Client address for per-IP limits (the socket's; see docs/security.md for proxies). */
export function clientIp(req: Pick<RequestView, 'ip' | 'socket'>): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}
