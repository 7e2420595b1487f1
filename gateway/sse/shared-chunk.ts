/**
 * One piece of an event stream written to many clients (a batch of updates for one selection,
 * a heartbeat): encoded to bytes once, and framed once as an HTTP/1.1 chunk, however many
 * clients get it. Writing the same Buffer to every socket is what makes fan-out cheap: no
 * per-client string encoding, and one socket write per client instead of the four that
 * `res.write()` makes for a chunked response (size line, data, CRLF, plus a cork/uncork tick).
 */
export class SharedChunk {
  private utf8: Buffer | null = null;
  private framed: Buffer | null = null;

  constructor(readonly text: string) {}

  /** The bytes as sent on a response without transfer encoding (HTTP/1.0 clients). */
  get bytes(): Buffer {
    this.utf8 ??= Buffer.from(this.text, 'utf8');
    return this.utf8;
  }

  /** The bytes as one HTTP/1.1 chunk: `<size in hex>\r\n<bytes>\r\n`. */
  get chunked(): Buffer {
    if (this.framed === null) {
      const body = this.bytes;
      const head = `${body.length.toString(16)}\r\n`;
      const out = Buffer.allocUnsafe(head.length + body.length + 2);
      out.write(head, 0, 'latin1');
      body.copy(out, head.length);
      out.write('\r\n', head.length + body.length, 'latin1');
      this.framed = out;
    }
    return this.framed;
  }
}
