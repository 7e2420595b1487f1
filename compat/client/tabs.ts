import type { ClientState, KitAction, KitStatus } from './types.ts';

/** Messages between the tabs of one origin sharing a connection. */
export type TabMessage =
  /** A tab without state asks the leader for it. */
  | { t: 'hello' }
  /** A new leader took over: tabs without state ask again. */
  | { t: 'leader' }
  | { t: 'state'; state: ClientState; status: KitStatus }
  | { t: 'actions'; actions: KitAction[] }
  | { t: 'status'; status: KitStatus };

interface LockManagerLike {
  request(name: string, options: { signal?: AbortSignal }, cb: () => Promise<void>): Promise<void>;
}

/** Whether this runtime can share a connection between tabs (BroadcastChannel + Web Locks). */
export function canShareTabs(): boolean {
  const nav = (globalThis as { navigator?: { locks?: unknown } }).navigator;
  return typeof BroadcastChannel === 'function' && typeof nav?.locks === 'object' && nav.locks !== null;
}

/**
 * One connection for all tabs of an origin that ask for the same streams: the tab holding the
 * Web Lock is the leader and runs the connection; it relays every reducer input to the others
 * over a BroadcastChannel, so each tab's state is the same as if it had its own connection.
 * When the leader closes (or its tab dies) the lock passes to a waiting tab, which continues
 * from the state it mirrored. A browser allows six HTTP/1.1 connections per host across all
 * tabs: without this the seventh tab's stream would wait forever.
 * Web Locks exist only in secure contexts (HTTPS, or http://localhost).
 */
export class TabGroup {
  private readonly channel: BroadcastChannel;
  private readonly abort = new AbortController();
  private release: (() => void) | null = null;
  private closed = false;

  constructor(
    key: string,
    private readonly onLeader: () => void,
    onMessage: (m: TabMessage) => void,
  ) {
    this.channel = new BroadcastChannel(`switchyard:${key}`);
    this.channel.onmessage = (ev: MessageEvent) => {
      if (!this.closed) onMessage(ev.data as TabMessage);
    };
    const locks = (globalThis as unknown as { navigator: { locks: LockManagerLike } }).navigator.locks;
    locks
      .request(`switchyard:${key}`, { signal: this.abort.signal }, () => {
        if (this.closed) return Promise.resolve();
        this.post({ t: 'leader' });
        this.onLeader();
        // Held until close(): the lock is the leadership.
        return new Promise<void>((resolve) => {
          this.release = resolve;
        });
      })
      .catch(() => {
        // Aborted by close() while waiting: nothing to do.
      });
  }

  post(m: TabMessage): void {
    if (!this.closed) this.channel.postMessage(m);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    this.release?.();
    this.channel.close();
  }
}
