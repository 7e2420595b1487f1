/**
 * A team's own repository as the adoption and deploy guides lay it out (docs/deploy/README.md):
 * a `contracts/` folder of contract modules and a `switchyard.config.json`, with nothing of
 * Switchyard's in it. For the tests that run the packed package or the image on such a folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { kafkaBrokers } from './kafka.ts';

/** The settings every such config file here shares: one table stream on the real broker. */
export interface OneTableSettings {
  port: number;
  /** The stream's name (and the name of its table). */
  stream: string;
  topic: string;
  adminToken: string;
}

/**
 * Config-file settings for one gateway process on 127.0.0.1:`port` with one table stream on the
 * suite's broker; the fleet state's topic is `<topic>-control`, created by the gateway.
 */
export function oneTableConfig({
  port,
  stream,
  topic,
  adminToken,
}: OneTableSettings): Record<string, unknown> {
  return {
    host: '127.0.0.1',
    port,
    kafkaBrokers: kafkaBrokers(),
    streams: [{ name: stream, mode: 'table', topic }],
    // The fleet state's topic: a team creates it once (docs/kafka.md); these ask the gateway to.
    rolloutTopic: `${topic}-control`,
    rolloutCreateTopic: true,
    workers: 1,
    adminToken,
  };
}

/** Writes `contracts/<file>` for each entry of `contracts`, and `config` as `switchyard.config.json`. */
export function writeUserRepository(
  dir: string,
  contracts: Record<string, string>,
  config: Record<string, unknown>,
): void {
  mkdirSync(join(dir, 'contracts'));
  for (const [file, source] of Object.entries(contracts)) writeFileSync(join(dir, 'contracts', file), source);
  writeFileSync(join(dir, 'switchyard.config.json'), JSON.stringify(config, null, 2));
}
