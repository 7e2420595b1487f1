import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Query strings are dropped from logged URLs and the usual secret-bearing
 * headers are redacted, so tokens never reach the logs.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'switchyard' },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'headers.authorization',
          'headers.cookie',
          'token',
        ],
        censor: '[redacted]',
      },
    },
    destination as never,
  );
}

/** The path of a URL without its query string (which may carry tokens). */
export function safePath(url: string | undefined): string {
  if (!url) return '';
  const q = url.indexOf('?');
  return (q < 0 ? url : url.slice(0, q)).slice(0, 200);
}
