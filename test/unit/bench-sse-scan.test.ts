import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ScanSink, SseResponseScanner } from '../../bench/lib/sse-scan.ts';

/** Records what the scanner reports, in order. */
function recorder(): ScanSink & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    update: (c) => seen.push(`u${c}`),
    event: (k) => seen.push(k),
    comment: () => seen.push('c'),
  };
}

const HEAD_CHUNKED =
  'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n';
const HEAD_PLAIN = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n';

function chunk(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}

/** Feeds `bytes` split at every position in `cuts` (to prove packet boundaries do not matter). */
function feedSplit(s: SseResponseScanner, bytes: Buffer, cuts: number[]): void {
  let prev = 0;
  for (const c of [...cuts, bytes.length]) {
    s.push(bytes.subarray(prev, c));
    prev = c;
  }
}

const STREAM =
  'retry: 1500\n' +
  'id: abc:1\nevent: snapshot\ndata: {"streams":{"orders":{"items":[{"createdAt":5}]}}}\n\n' +
  ':\n\n' +
  'id: abc:2\nevent: update\ndata: {"stream":"orders","value":{"createdAt":1700000000123},"createdAt":1}\n\n' +
  'data: {"id":"o1","createdAt":1700000000456}\n\n' +
  'event: error\ndata: {"code":"SLOW_CONSUMER"}\n\n';
const EXPECTED = ['snapshot', 'c', 'u1700000000123', 'u1700000000456', 'error'];

describe('SseResponseScanner', () => {
  it('reads a chunked stream: snapshot and error are not updates, comments are counted', () => {
    const r = recorder();
    const s = new SseResponseScanner(r);
    const body = chunk(STREAM.slice(0, 100)) + chunk(STREAM.slice(100));
    assert.equal(s.push(Buffer.from(HEAD_CHUNKED + body)), true);
    assert.equal(s.status, 200);
    assert.deepEqual(r.seen, EXPECTED);
  });

  it('gives the same events whatever the packet boundaries (chunked)', () => {
    const bytes = Buffer.from(HEAD_CHUNKED + chunk(STREAM.slice(0, 37)) + chunk(STREAM.slice(37)));
    for (let cut = 1; cut < bytes.length; cut += 3) {
      const r = recorder();
      feedSplit(new SseResponseScanner(r), bytes, [cut, Math.min(bytes.length, cut + 7)]);
      assert.deepEqual(r.seen, EXPECTED, `split at ${cut}`);
    }
  });

  it('reads a non-chunked stream (NGINX nchan) and CRLF / CR line endings', () => {
    const r = recorder();
    const s = new SseResponseScanner(r);
    const crlf = STREAM.replace(/\n/g, '\r\n');
    const bytes = Buffer.from(HEAD_PLAIN + crlf);
    for (let i = 0; i < bytes.length; i += 5) s.push(bytes.subarray(i, i + 5));
    assert.deepEqual(r.seen, EXPECTED);
    const r2 = recorder();
    new SseResponseScanner(r2).push(Buffer.from(HEAD_PLAIN + STREAM.replace(/\n/g, '\r')));
    assert.deepEqual(r2.seen, EXPECTED);
  });

  it('ends at the last chunk and reports a non-200 answer', () => {
    const r = recorder();
    const s = new SseResponseScanner(r);
    s.push(Buffer.from(`${HEAD_CHUNKED}${chunk('data: {"createdAt":7}\n\n')}0\r\n\r\n`));
    assert.equal(s.done, true);
    assert.deepEqual(r.seen, ['u7']);
    const bad = new SseResponseScanner(recorder());
    assert.equal(
      bad.push(Buffer.from('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n')),
      false,
    );
    assert.equal(bad.status, 503);
  });

  it('reports -1 for an update without createdAt, and multi-line data', () => {
    const r = recorder();
    new SseResponseScanner(r).push(
      Buffer.from(`${HEAD_PLAIN}data: {"a":1}\n\ndata: {"b":\ndata: {"createdAt": 42}}\n\n`),
    );
    assert.deepEqual(r.seen, ['u-1', 'u42']);
  });
});
