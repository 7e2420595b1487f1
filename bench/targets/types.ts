import type { MessageSink } from '../load/publisher.ts';
import type { StreamTarget } from '../load/sse-load.ts';

export type SystemName = 'switchyard' | 'plain-node' | 'nchan';

/** A server under test, started (or attached to) for one phase of a scenario. */
export interface RunningSystem {
  readonly name: SystemName;
  /** What the table shows, e.g. `switchyard --workers 2`. */
  readonly label: string;
  /** Where its event stream is. */
  readonly stream: StreamTarget;
  /** Where the publisher sends its messages (Kafka topic or HTTP publish endpoint). */
  readonly sink: MessageSink;
  /** Its processes now (master + workers, primary + workers); empty when not local. */
  pids(): number[];
  /** Stops what this phase started (and closes the sink). */
  stop(): Promise<void>;
}
