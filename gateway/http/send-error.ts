import type { ServerResponse } from 'node:http';
import type { GatewayError } from '../errors.ts';

/**
 * Writes a catalogue error as its status and JSON body (with `Retry-After` when it has one), the
 * same bytes on the express path and the node:http front door. A response whose headers are
 * already out cannot change its status: it is cut instead.
 */
export function sendError(res: ServerResponse, e: GatewayError, method: string | undefined): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(e.toJSON()), 'utf8');
  if (e.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(e.retryAfterSeconds));
  res.statusCode = e.status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', String(body.length));
  res.end(method === 'HEAD' ? undefined : body);
}
