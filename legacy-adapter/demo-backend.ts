import type { Logger } from '../gateway/observability/logger.ts';
import { DemoSource } from '../gateway/source/demo-source.ts';
import type { RecordSource } from '../gateway/source/types.ts';
import type { LegacyGatewayConfig } from './config.ts';
import { ReferenceBackend } from './reference-backend/server.ts';
import { LiveMapStore } from './reference-backend/store.ts';
import { TeeSource } from './tee-source.ts';

/** The demo's legacy side: the source to give the gateway, and the backend's address. */
export interface DemoLegacyBackend {
  /** The demo feed, teed into the backend's store: pass it to createGateway as `source`. */
  readonly source: RecordSource;
  /** Base URL of the backend (pass it to createGateway as `legacyUrl`). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the reference legacy backend in-process for `npm start`: it listens on
 * LEGACY_DEMO_PORT (127.0.0.1 only) and is fed the very records the gateway's cache gets,
 * through a tee on the one demo generator, so proxy, shadow and serve show the same data.
 */
export async function startDemoLegacyBackend(
  config: LegacyGatewayConfig,
  logger: Logger,
): Promise<DemoLegacyBackend> {
  const demo = config.legacy.demoBackend;
  const feed = config.streams.find((s) => s.mode === 'feed');
  const table = config.streams.find((s) => s.mode === 'table');
  if (!demo || !feed || !table) throw new Error('the demo legacy backend needs the demo streams');
  const store = new LiveMapStore({
    ordersTopic: feed.topic,
    totalsTopic: table.topic,
    keepOrders: feed.maxItems,
  });
  const log = logger.child({ component: 'legacy-demo-backend' });
  const source = new TeeSource(new DemoSource(config.streams, config.demoRate), [store], (err) =>
    log.error({ err }, 'demo legacy backend failed to ingest'),
  );
  const backend = new ReferenceBackend(store, { refreshMs: demo.refreshMs });
  const port = await backend.listen(demo.port, '127.0.0.1');
  log.info({ port, refreshMs: demo.refreshMs }, 'demo legacy backend listening');
  return { source, url: `http://127.0.0.1:${port}`, close: () => backend.close() };
}
