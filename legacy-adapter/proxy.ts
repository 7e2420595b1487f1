import { type ClientRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { NextFunction, Request, Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { GatewayError } from '../gateway/errors.ts';
import type { Logger } from '../gateway/observability/logger.ts';
import type { LegacyMetrics } from './metrics.ts';
import type { BodyCapture } from './shadow/capture.ts';

/** One proxied request in flight. */
interface Call {
  readonly route: string;
  readonly next: NextFunction;
  readonly capture: BodyCapture | null;
  proxyReq: ClientRequest | null;
  /** The deadline passed: the client got (or is getting) a 504; ignore what follows. */
  timedOut: boolean;
}

export interface LegacyProxyOptions {
  /** Base URL of the legacy backend. */
  target: string;
  /** End-to-end deadline of one proxied request. */
  timeoutMs: number;
  metrics: LegacyMetrics;
  logger: Logger;
}

/**
 * Forwards requests to the legacy backend with http-proxy-middleware: status, headers and body
 * pass through untouched (the body is piped, never parsed). What the backend cannot answer
 * becomes a catalogue error while nothing was sent yet: unreachable -> 502 UPSTREAM_UNAVAILABLE,
 * no complete answer within `timeoutMs` -> 504 UPSTREAM_TIMEOUT. Once the backend's headers went
 * out, a failure can only cut the response (as the backend itself did), never hang it.
 */
export class LegacyProxy {
  private readonly calls = new WeakMap<IncomingMessage, Call>();
  private readonly agent: HttpAgent;
  private readonly middleware: (req: Request, res: Response, next: NextFunction) => Promise<void>;

  constructor(private readonly opts: LegacyProxyOptions) {
    const https = opts.target.startsWith('https:');
    // Keep-alive: a poll storm reuses connections instead of opening one per request.
    const agentOpts = { keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' as const };
    this.agent = https ? new HttpsAgent(agentOpts) : new HttpAgent(agentOpts);
    const log = opts.logger.child({ component: 'legacy-proxy' });
    this.middleware = createProxyMiddleware<Request, Response>({
      target: opts.target,
      changeOrigin: true,
      // Header names as the backend wrote them, too (HTTP does not care; byte-level tooling may).
      preserveHeaderKeyCase: true,
      agent: this.agent,
      on: {
        proxyReq: (proxyReq, req) => {
          const call = this.calls.get(req);
          if (!call) return;
          call.proxyReq = proxyReq;
          if (call.timedOut) proxyReq.destroy();
        },
        proxyRes: (proxyRes, req, res) => {
          const call = this.calls.get(req);
          call?.capture?.attach(proxyRes);
          // The backend closed mid-body: pass the cut on instead of leaving the client waiting.
          proxyRes.once('close', () => {
            if (proxyRes.complete || res.writableEnded || res.destroyed) return;
            call?.capture?.markCut();
            res.destroy();
          });
        },
        error: (err, req, res) => {
          const call = this.calls.get(req as IncomingMessage);
          const response = res as Response;
          if (!call || call.timedOut) return;
          if (typeof response.writeHead !== 'function') return;
          if (response.headersSent) {
            response.destroy();
            return;
          }
          const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
          opts.metrics.upstreamErrors.inc({ route: call.route, kind: 'unavailable' });
          log.warn({ route: call.route, code, err: err.message }, 'legacy backend unreachable');
          call.next(
            new GatewayError('UPSTREAM_UNAVAILABLE', `the legacy backend could not be reached (${code})`, {
              details: { route: call.route },
            }),
          );
        },
      },
    });
  }

  /** Forwards one request; `capture` (shadow mode) keeps a copy of the body for comparison. */
  forward(req: Request, res: Response, next: NextFunction, route: string, capture: BodyCapture | null): void {
    const call: Call = { route, next, capture, proxyReq: null, timedOut: false };
    this.calls.set(req, call);
    const timer = setTimeout(() => this.expire(call, res), this.opts.timeoutMs);
    res.once('close', () => clearTimeout(timer));
    this.middleware(req, res, next).catch(next);
  }

  private expire(call: Call, res: Response): void {
    if (res.writableEnded) return;
    call.timedOut = true;
    call.capture?.markCut();
    call.proxyReq?.destroy();
    this.opts.metrics.upstreamErrors.inc({ route: call.route, kind: 'timeout' });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    call.next(
      new GatewayError(
        'UPSTREAM_TIMEOUT',
        `the legacy backend did not answer within ${this.opts.timeoutMs} ms`,
        {
          details: { route: call.route, timeoutMs: this.opts.timeoutMs },
        },
      ),
    );
  }

  /** Closes idle keep-alive connections to the backend. */
  close(): void {
    this.agent.destroy();
  }
}
