import type { ErrorRequestHandler, Router } from 'express';
import { GatewayError } from '../errors.ts';
import { gatewayRouter } from '../http/exact-router.ts';
import { jsonBody } from '../http/json-body.ts';
import { clientIp } from '../http/request-utils.ts';
import { SampleBudget } from './budget.ts';
import { clipSample, MAX_REPORT_BYTES, parseReport } from './report.ts';
import type { TelemetryEvents } from './telemetry-events.ts';

/** Defaults sized for honest kits (a few samples per second per tab) with room for offices behind NAT. */
const DEFAULT_BUDGET = { perKeyRate: 50, perKeyBurst: 1000, globalRate: 5000, globalBurst: 20_000 };

/** What the telemetry route reads: where it reports and the clock of its sample budget. */
export interface TelemetryHost {
  readonly telemetryEvents: TelemetryEvents;
  readonly now: () => number;
}

/**
 * `POST /v1/telemetry`: latency reports from client kits, aggregated into
 * `switchyard_client_latency_seconds{transport}` and never stored. Bounded at every step: body
 * size (413), samples per report and types (400 BAD_BODY), values (clipped and counted), and
 * samples per second per address and per instance (dropped and counted; 429 when none fit).
 * `text/plain` bodies are accepted too, for `navigator.sendBeacon` on page exit.
 */
export function telemetryRouter(ctx: TelemetryHost, budget?: SampleBudget): Router {
  const router = gatewayRouter();
  const events = ctx.telemetryEvents;
  const samples = budget ?? new SampleBudget({ ...DEFAULT_BUDGET, now: ctx.now });

  router.post(
    '/v1/telemetry',
    ...jsonBody({ limit: MAX_REPORT_BYTES, type: ['application/json', 'text/plain'], strict: false }),
    (req, res, next) => {
      const parsed = parseReport(req.body);
      if (!parsed.ok) {
        events.batch('invalid');
        return next(
          new GatewayError('BAD_BODY', `telemetry report rejected: ${parsed.problems.join('; ')}`, {
            details: { problems: parsed.problems },
          }),
        );
      }
      const { transport, latencyMs } = parsed.report;
      const granted = samples.take(clientIp(req), latencyMs.length);
      const dropped = latencyMs.length - granted;
      if (granted === 0) {
        events.batch('rate_limited');
        events.samples(transport, 'dropped', dropped);
        return next(
          new GatewayError('RATE_LIMITED', 'telemetry budget exhausted', { retryAfterSeconds: 10 }),
        );
      }
      let clipped = 0;
      for (let i = 0; i < granted; i++) {
        const s = clipSample(latencyMs[i]!);
        if (s.clipped) clipped++;
        events.latency(transport, s.seconds);
      }
      events.batch('accepted');
      events.samples(transport, 'accepted', granted - clipped);
      if (clipped > 0) events.samples(transport, 'clipped', clipped);
      if (dropped > 0) events.samples(transport, 'dropped', dropped);
      res.status(202).json({ accepted: granted, clipped, dropped });
    },
  );

  // Count body-parser failures here; the app's error handler renders them (BAD_BODY / BODY_TOO_LARGE).
  const countParseErrors: ErrorRequestHandler = (err, _req, _res, next) => {
    const type = (err as { type?: string })?.type;
    if (type === 'entity.too.large') events.batch('too_large');
    else if (type === 'entity.parse.failed') events.batch('invalid');
    next(err);
  };
  router.use('/v1/telemetry', countParseErrors);
  return router;
}
