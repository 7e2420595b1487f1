import type { ChildProcess } from 'node:child_process';
import { stopChild } from '../lib/children.ts';
import { processTree } from '../lib/proc.ts';
import { HttpSink } from '../load/publisher.ts';
import type { RunningSystem, SystemName } from './types.ts';

/**
 * A baseline fed by HTTP POSTs to `<base>/pub` and read at `/sub` on the same port (plain Node
 * and nchan share this shape): its sink, its process tree and its stop.
 */
export function httpPublishedSystem(o: {
  name: SystemName;
  label: string;
  port: number;
  child: ChildProcess;
  alive: () => boolean;
}): RunningSystem {
  const sink = new HttpSink(`http://127.0.0.1:${o.port}/pub`);
  return {
    name: o.name,
    label: o.label,
    stream: { host: '127.0.0.1', port: o.port, path: '/sub' },
    sink,
    pids: () => (o.alive() ? processTree(o.child.pid!) : []),
    async stop() {
      await sink.close();
      await stopChild(o.child);
    },
  };
}
