/** IPC messages between the load controller (sse-load.ts) and its worker processes (sse-worker.ts). */

export type WorkerRequest =
  | { type: 'target'; host: string; port: number; path: string }
  /** Open `count` more streams at `perSec`. */
  | { type: 'open'; count: number; perSec: number }
  /** Count and time only updates created in [t0, t1) (epoch ms); resets the window counters. */
  | { type: 'window'; t0: number; t1: number }
  | { type: 'stats'; id: number }
  /** Close every stream and reset all counters. */
  | { type: 'close'; id: number }
  | { type: 'exit' };

export interface WorkerStats {
  opened: number;
  established: number;
  maxEstablished: number;
  failed: number;
  closedByServer: number;
  /** Connection attempts repeated after a failure before the response (EventSource-like). */
  retries: number;
  failReasons: Record<string, number>;
  /** Streams established before the window began (closed since or not): what `expected` multiplies. */
  windowStreams: number;
  windowUpdates: number;
  totalUpdates: number;
  noCreatedAt: number;
  snapshots: number;
  errors: number;
  otherEvents: number;
  comments: number;
  bytes: number;
  /** Socket reads: updates per read shows how much the server batches. */
  reads: number;
  hist: { pairs: number[]; max: number };
}

/** What a worker counts of the events its streams received. */
export type ReceivedCounts = Pick<
  WorkerStats,
  | 'windowUpdates'
  | 'totalUpdates'
  | 'noCreatedAt'
  | 'snapshots'
  | 'errors'
  | 'otherEvents'
  | 'comments'
  | 'bytes'
  | 'reads'
>;

/** Received counts, all zero. */
export function noneReceived(): ReceivedCounts {
  return {
    windowUpdates: 0,
    totalUpdates: 0,
    noCreatedAt: 0,
    snapshots: 0,
    errors: 0,
    otherEvents: 0,
    comments: 0,
    bytes: 0,
    reads: 0,
  };
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'stats'; id: number; stats: WorkerStats }
  | { type: 'closed'; id: number };
