/**
 * The two kinds of client the comparison runs, each as a real user of the gateway would be:
 * a poller (GET /v1/snapshot at the advertised interval, If-None-Match, gzip, one keep-alive
 * connection) and an SSE client (GET /v1/stream on a raw connection, parsed with
 * eventsource-parser, resuming with Last-Event-ID after a drop). Each reports to a shared
 * `Deliveries` the updates new to it, stamped on arrival with the gateway's clock.
 */

import type { IncomingMessage } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import { gunzipSync } from 'node:zlib';
import { createParser } from 'eventsource-parser';
import type { Deliveries } from './report.ts';

/** The gateway's clock seen from here: NTP-like, from the fastest round trip carrying X-Server-Time. */
export class ClockSync {
  offsetMs = 0;
  private bestRtt = Number.POSITIVE_INFINITY;

  sample(serverTime: number, sentAt: number, receivedAt: number): void {
    const rtt = receivedAt - sentAt;
    if (!Number.isFinite(serverTime) || serverTime <= 0 || rtt > this.bestRtt) return;
    this.bestRtt = rtt;
    const offset = serverTime - (sentAt + receivedAt) / 2;
    // Within half a round trip the two clocks cannot be told apart: do not add noise.
    this.offsetMs = Math.abs(offset) <= rtt / 2 + 1 ? 0 : offset;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }
}

export interface HttpAnswer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  /** Bytes as they came off the wire (compressed), body only. */
  wireBytes: number;
  sentAt: number;
  receivedAt: number;
}

/** http or https, by the URL's scheme. */
function request(
  url: URL,
  options: http.RequestOptions,
  onResponse: (res: IncomingMessage) => void,
): http.ClientRequest {
  return url.protocol === 'https:'
    ? https.request(url, options, onResponse)
    : http.request(url, options, onResponse);
}

/** One GET, body read whole and gunzipped if needed. */
export function get(
  url: URL,
  headers: Record<string, string>,
  agent: http.Agent | false,
  timeoutMs = 30_000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const sentAt = Date.now();
    const req = request(url, { headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        try {
          const body = res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            wireBytes: raw.length,
            sentAt,
            receivedAt: Date.now(),
          });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer from ${url.host} in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

interface SnapshotStream {
  mode?: string;
  items?: Array<{ key: string | null; createdAt: number }>;
  entries?: Record<string, { createdAt: number }>;
}

/**
 * A polling client. Its first 200 is its baseline (a page load: nothing is "delivered"); from
 * then on every feed item or table row it had not seen counts as delivered by that response.
 */
export class Poller {
  /** One keep-alive connection per client, as a browser polling one origin would use. */
  private readonly agent: http.Agent;
  private etag: string | null = null;
  private baseline = false;
  private readonly feedSeen = new Set<string>();
  private readonly rows = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly url: URL,
    private readonly intervalMs: number,
    private readonly sink: Deliveries,
    private readonly clock: ClockSync,
  ) {
    const opts = { keepAlive: true, maxSockets: 1 };
    this.agent = url.protocol === 'https:' ? new https.Agent(opts) : new http.Agent(opts);
  }

  get ready(): boolean {
    return this.baseline;
  }

  /** Polls first after `delayMs` (staggering), then every interval from each poll's start. */
  start(delayMs: number): void {
    this.timer = setTimeout(() => this.tick(), delayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.agent.destroy();
  }

  private async tick(): Promise<void> {
    const started = Date.now();
    await this.poll().catch(() => {
      this.sink.errors.poll++;
    });
    if (this.stopped) return;
    this.timer = setTimeout(() => this.tick(), Math.max(0, started + this.intervalMs - Date.now()));
  }

  private async poll(): Promise<void> {
    const headers: Record<string, string> = { 'accept-encoding': 'gzip', accept: 'application/json' };
    if (this.etag) headers['if-none-match'] = this.etag;
    const a = await get(this.url, headers, this.agent);
    if (this.stopped) return;
    this.sink.bytes.poll += a.wireBytes;
    this.clock.sample(Number(a.headers['x-server-time']), a.sentAt, a.receivedAt);
    if (a.status === 304) return;
    if (a.status !== 200) {
      this.sink.errors.poll++;
      return;
    }
    const arrivedAt = a.receivedAt + this.clock.offsetMs;
    const body = JSON.parse(a.body.toString('utf8')) as { streams: Record<string, SnapshotStream> };
    const measure = this.baseline;
    for (const [stream, s] of Object.entries(body.streams)) {
      for (const item of s.items ?? []) {
        const id = `${stream}\u0000${item.key ?? ''}\u0000${item.createdAt}`;
        if (this.feedSeen.has(id)) continue;
        this.feedSeen.add(id);
        if (measure) this.sink.record('poll', stream, item.key, item.createdAt, arrivedAt);
      }
      for (const [key, row] of Object.entries(s.entries ?? {})) {
        const k = `${stream}\u0000${key}`;
        if (this.rows.get(k) === row.createdAt) continue;
        this.rows.set(k, row.createdAt);
        if (measure) this.sink.record('poll', stream, key, row.createdAt, arrivedAt);
      }
    }
    this.etag = typeof a.headers.etag === 'string' ? a.headers.etag : null;
    this.baseline = true;
  }
}

/**
 * An SSE client on a raw connection. The `snapshot` event is its baseline; each `update`
 * (except deletes, which polling cannot date) is a delivery. On a drop it reconnects after
 * the advertised retry with Last-Event-ID, so what it missed is replayed and still counted.
 */
export class StreamClient {
  private req: http.ClientRequest | null = null;
  private lastId: string | null = null;
  private retryMs = 1000;
  private baseline = false;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  /** Bumped per connection, so late events of a dropped one cannot schedule a second reconnect. */
  private generation = 0;

  constructor(
    private readonly url: URL,
    private readonly sink: Deliveries,
    private readonly clock: ClockSync,
  ) {}

  get ready(): boolean {
    return this.baseline;
  }

  start(): void {
    if (this.stopped) return;
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.lastId) headers['last-event-id'] = this.lastId;
    const parser = createParser({
      onRetry: (ms) => {
        this.retryMs = ms;
      },
      onEvent: (e) => {
        if (e.id) this.lastId = e.id;
        if (e.event === 'snapshot') this.baseline = true;
        else if (e.event === 'update') this.onUpdate(e.data);
      },
    });
    const decoder = new TextDecoder();
    const gen = ++this.generation;
    const reconnect = (): void => this.reconnect(gen);
    const req = request(this.url, { headers, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        this.sink.errors.sse++;
        res.resume();
        res.on('end', reconnect);
        return;
      }
      res.on('data', (chunk: Buffer) => {
        this.sink.bytes.sse += chunk.length;
        parser.feed(decoder.decode(chunk, { stream: true }));
      });
      res.on('end', reconnect);
      res.on('error', reconnect);
    });
    req.on('error', () => {
      if (!this.stopped) this.sink.errors.sse++;
      reconnect();
    });
    req.end();
    this.req = req;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.req?.destroy();
  }

  private onUpdate(data: string): void {
    const arrivedAt = this.clock.now();
    const u = JSON.parse(data) as { stream: string; op: string; key: string | null; createdAt: number };
    if (u.op === 'delete') return;
    this.sink.record('sse', u.stream, u.key, u.createdAt, arrivedAt);
  }

  private reconnect(gen: number): void {
    if (this.stopped || gen !== this.generation || this.timer) return;
    this.sink.reconnects.sse++;
    this.req?.destroy();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.start();
    }, this.retryMs);
  }
}
