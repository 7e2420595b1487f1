import type { ServerResponse } from 'node:http';

/**
 * What a front-door handler answers, for the front door to write (front-door.ts): handlers say
 * what to send, and one writer puts it on the wire with the pipeline's common headers, in one
 * `writeHead` (a response that never called `setHeader` keeps no header table: about 0.7 KB
 * per open stream).
 */
export type Reply = BodyReply | StreamReply;

/** A whole answer: status, its own headers (flat `[name, value, ...]`) and body. */
export interface BodyReply {
  readonly kind: 'body';
  readonly status: number;
  readonly headers: readonly string[];
  /** Omitted for a HEAD by the writer; undefined for an answer without one (304). */
  readonly body: Buffer | undefined;
}

/** A `200` event stream: its headers, then `open` runs it until it ends. */
export interface StreamReply {
  readonly kind: 'stream';
  readonly headers: readonly string[];
  /**
   * Runs the stream on `res`, whose headers are out; rejects with a catalogue error (answered
   * by the one error path: before any event, or as a cut stream after).
   */
  open(res: ServerResponse): Promise<void>;
  /** The headers could not be written: give back what the handler took (its stream cap). */
  abandon(): void;
}

/**
 * Writes a body reply with the `common` headers first. A `Vary` in both is merged into one
 * header (`Origin, Accept-Encoding`): a flat list given to `writeHead` would send two.
 */
export function writeBody(
  res: ServerResponse,
  method: string | undefined,
  reply: BodyReply,
  common: readonly string[],
): void {
  res.writeHead(reply.status, withCommon(common, reply.headers));
  res.end(method === 'HEAD' ? undefined : reply.body);
}

/** Writes a stream reply's headers (common ones included) and runs it. */
export function writeStream(
  res: ServerResponse,
  reply: StreamReply,
  common: readonly string[],
): Promise<void> {
  try {
    res.writeHead(200, withCommon(common, reply.headers));
    res.flushHeaders();
  } catch (err) {
    reply.abandon();
    throw err;
  }
  return reply.open(res);
}

/** `common` then `own` as one flat list, with `Vary` merged. */
export function withCommon(common: readonly string[], own: readonly string[]): string[] {
  const out = common.concat(own);
  // Only the CORS step puts a Vary in the common headers (spelled so): the usual case is done.
  if (!common.includes('Vary')) return out;
  let first = -1;
  for (let i = 0; i < out.length; i += 2) {
    if (out[i]!.toLowerCase() !== 'vary') continue;
    if (first < 0) {
      first = i;
      continue;
    }
    out[first + 1] = `${out[first + 1]}, ${out[i + 1]}`;
    out.splice(i, 2);
    i -= 2;
  }
  return out;
}
