import { z } from 'zod';
import { streamSchema } from '../../gateway/config/streams.ts';
import { createLogger } from '../../gateway/observability/logger.ts';
import { DemoSource } from '../../gateway/source/demo-source.ts';
import { KafkaSource } from '../../gateway/source/kafka-source.ts';
import type { RecordSource } from '../../gateway/source/types.ts';
import { REPORT_PATH, ReferenceBackend } from './server.ts';
import { LiveMapStore } from './store.ts';

/**
 * The reference legacy backend as its own process:
 *   node --import tsx legacy-adapter/reference-backend/main.ts
 * Env: PORT (8081; 0 = any), HOST (127.0.0.1), REFRESH_MS (10000), and its data: KAFKA_BROKERS
 * with ORDERS_TOPIC / TOTALS_TOPIC (default: the demo topics), or without KAFKA_BROKERS its own
 * demo generator at DEMO_RATE orders/s. Prints one JSON line `{"event":"listening",...}` on stdout.
 */
const env = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(8081),
    HOST: z.string().min(1).default('127.0.0.1'),
    REFRESH_MS: z.coerce.number().int().min(50).max(3_600_000).default(10_000),
    KAFKA_BROKERS: z
      .string()
      .regex(/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/)
      .optional(),
    ORDERS_TOPIC: z.string().min(1).default('switchyard.demo.orders'),
    TOTALS_TOPIC: z.string().min(1).default('switchyard.demo.totals'),
    DEMO_RATE: z.coerce.number().min(0).max(10_000).default(20),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .safeParse(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== '')));

if (!env.success) {
  process.stderr.write(
    `reference backend: invalid environment:\n${env.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}\n`,
  );
  process.exit(2);
}
const e = env.data;
const logger = createLogger(e.LOG_LEVEL).child({ component: 'legacy-reference-backend' });
const store = new LiveMapStore({ ordersTopic: e.ORDERS_TOPIC, totalsTopic: e.TOTALS_TOPIC });
const streams = [
  streamSchema.parse({ name: 'orders', mode: 'feed', topic: e.ORDERS_TOPIC }),
  streamSchema.parse({ name: 'totals', mode: 'table', topic: e.TOTALS_TOPIC }),
];
const source: RecordSource = e.KAFKA_BROKERS
  ? new KafkaSource({
      brokers: e.KAFKA_BROKERS.split(','),
      clientId: 'legacy-live-map',
      streams,
      logger,
      connectTimeoutMs: 3000,
      maxRetryMs: 5000,
    })
  : new DemoSource(streams, e.DEMO_RATE);
const backend = new ReferenceBackend(store, { refreshMs: e.REFRESH_MS });

try {
  await source.start(store);
  const port = await backend.listen(e.PORT, e.HOST);
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', port, url: `http://${e.HOST}:${port}${REPORT_PATH}`, source: source.kind })}\n`,
  );
} catch (err) {
  process.stderr.write(`reference backend failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}

const stop = () => {
  void Promise.all([backend.close(), source.stop()]).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
