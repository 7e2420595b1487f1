import { z } from 'zod';

/** Most samples in one report: a kit flushes long before this (see docs/client-kit.md). */
export const MAX_SAMPLES_PER_REPORT = 200;
/** Largest accepted body, in bytes (200 samples as JSON take about 4 KiB). */
export const MAX_REPORT_BYTES = 16 * 1024;
/** Samples are clipped into [0, MAX_LATENCY_MS]: above it the histogram's last bucket says enough. */
export const MAX_LATENCY_MS = 10 * 60 * 1000;

const finite = z.number().refine(Number.isFinite, 'must be a finite number');

/**
 * One telemetry report from a client kit: per-update latencies (record creation -> arrival,
 * corrected for the client's clock offset) measured on one transport. Unknown fields are
 * ignored, so newer kits can add some; wrong types are refused.
 */
export const reportSchema = z.object({
  v: z.literal(1).optional(),
  transport: z.enum(['sse', 'poll']),
  latencyMs: z.array(finite).min(1).max(MAX_SAMPLES_PER_REPORT),
  /** Probability with which the kit kept each measured update (informational). */
  sampleRate: z.number().gt(0).max(1).optional(),
  /** Samples the kit dropped itself (its buffer was full while reports failed). */
  dropped: z.number().int().min(0).max(1_000_000).optional(),
});

export type TelemetryReport = z.output<typeof reportSchema>;

export type ReportParse = { ok: true; report: TelemetryReport } | { ok: false; problems: string[] };

/** Validates a report body. Never throws. */
export function parseReport(body: unknown): ReportParse {
  const parsed = reportSchema.safeParse(body);
  if (parsed.success) return { ok: true, report: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.slice(0, 10).map((i) => {
      const path = i.path.map(String).join('.');
      return path ? `${path}: ${i.message}` : i.message;
    }),
  };
}

/**
 * A sample in seconds, clipped into [0, MAX_LATENCY_MS]. Negative values come from residual
 * clock error (a record "arriving before it was created"); huge ones from broken clocks or
 * forged reports. Neither may move the histogram by more than one observation each.
 */
export function clipSample(ms: number): { seconds: number; clipped: boolean } {
  if (ms < 0) return { seconds: 0, clipped: true };
  if (ms > MAX_LATENCY_MS) return { seconds: MAX_LATENCY_MS / 1000, clipped: true };
  return { seconds: ms / 1000, clipped: false };
}
