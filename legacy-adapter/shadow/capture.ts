import type { IncomingMessage } from 'node:http';

/** What the legacy backend sent, as much as was kept (see {@link BodyCapture}). */
export interface CapturedResponse {
  readonly status: number;
  readonly contentEncoding: string | null;
  /** Body bytes as received (still encoded), or null when not kept. */
  readonly body: Buffer | null;
  readonly bytes: number;
  /** More than the cap was received: the body was dropped, only counted. */
  readonly tooLarge: boolean;
  /** The response ended as its framing said (false: the backend closed mid-body). */
  readonly complete: boolean;
}

/**
 * Keeps a copy of a proxied legacy body for a shadow comparison, as it streams to the client:
 * it only listens next to the pipe (never pauses or delays it) and holds references to the
 * chunks, up to `maxBytes`; beyond that it keeps nothing, so a huge body costs no memory.
 */
export class BodyCapture {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private tooLarge = false;
  private status = 0;
  private encoding: string | null = null;
  private res: IncomingMessage | null = null;
  private cut = false;

  constructor(private readonly maxBytes: number) {}

  attach(proxyRes: IncomingMessage): void {
    this.res = proxyRes;
    this.status = proxyRes.statusCode ?? 0;
    const enc = proxyRes.headers['content-encoding'];
    this.encoding = typeof enc === 'string' ? enc.trim().toLowerCase() : null;
    proxyRes.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (this.tooLarge) return;
      if (this.bytes > this.maxBytes) {
        this.tooLarge = true;
        this.chunks = [];
      } else this.chunks.push(chunk);
    });
    // A backend closing mid-body makes the response emit 'error' (aborted): never unhandled.
    proxyRes.on('error', () => {});
  }

  /**
   * The backend side ended the exchange early (closed mid-body, or passed the deadline): the
   * client's response was cut because of the backend, not because the client left.
   */
  markCut(): void {
    this.cut = true;
  }

  get cutByBackend(): boolean {
    return this.cut;
  }

  /** Whether a backend response was seen at all. */
  get attached(): boolean {
    return this.res !== null;
  }

  result(): CapturedResponse {
    return {
      status: this.status,
      contentEncoding: this.encoding,
      body: this.tooLarge ? null : Buffer.concat(this.chunks),
      bytes: this.bytes,
      tooLarge: this.tooLarge,
      complete: this.res?.complete === true,
    };
  }
}
