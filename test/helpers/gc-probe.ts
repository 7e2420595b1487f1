/**
 * Preloaded into gateway child processes by test/helpers/gateway-process.ts (`--import`): on an
 * IPC `{ type: 'gc' }` message it runs a full GC (the child has `--expose-gc`) and replies with
 * `process.memoryUsage()`. Inert when the process has no IPC channel.
 */
import cluster from 'node:cluster';

const gc = (globalThis as { gc?: () => void }).gc;

if (process.send) {
  process.on('message', (m: unknown) => {
    if ((m as { type?: string })?.type !== 'gc') return;
    // Twice: the first pass can leave objects that only die once finalizers ran.
    gc?.();
    gc?.();
    process.send?.({ type: 'heap', heap: process.memoryUsage() });
  });
  // The channel must not keep a gateway alive after its shutdown. Not in cluster workers (which
  // inherit --import): their channel is the cluster's, and unref'ing it lets a worker waiting on
  // the primary (a listen() in flight) exit for want of work.
  if (!cluster.isWorker) process.channel?.unref();
}
