/**
 * The SSE encoder against a real SSE parser (eventsource-parser), fed ONE BYTE AT A TIME, as a
 * slow network would deliver it: whatever a value contains, it comes back as the same data and
 * can never forge a field or an extra event.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import {
  encodeComment,
  encodeData,
  encodeEvent,
  encodeJsonEvent,
  encodeRetry,
  SseEncodingError,
} from '../../gateway/sse/encoder.ts';
import { SseHub } from '../../gateway/sse/hub.ts';

interface Parsed {
  events: EventSourceMessage[];
  comments: string[];
  retries: number[];
  errors: string[];
}

/** Feeds `wire` to a fresh parser one UTF-8 byte at a time, through a streaming decoder. */
function parseBytewise(wire: string): Parsed {
  const out: Parsed = { events: [], comments: [], retries: [], errors: [] };
  const parser = createParser({
    onEvent: (e) => out.events.push(e),
    onComment: (c) => out.comments.push(c),
    onRetry: (r) => out.retries.push(r),
    onError: (e) => out.errors.push(e.message),
  });
  const decoder = new TextDecoder();
  for (const byte of Buffer.from(wire, 'utf8'))
    parser.feed(decoder.decode(Uint8Array.of(byte), { stream: true }));
  parser.feed(decoder.decode());
  return out;
}

/** SSE normalises every line terminator to LF inside data: that is the round-trip contract. */
const normalise = (s: string): string => s.replace(/\r\n|\r|\n/g, '\n');

const PAYLOADS: Record<string, string> = {
  plain: 'hello',
  empty: '',
  lf: 'a\nb',
  cr: 'a\rb',
  crlf: 'a\r\nb',
  'mixed breaks': 'one\rtwo\nthree\r\nfour',
  'leading break': '\nx',
  'trailing break': 'x\n',
  'trailing CR': 'x\r',
  'only breaks': '\r\n\r\n',
  'empty lines in between': 'a\n\n\nb',
  'blank-line event terminator attempt': 'x\n\nevent: forged\ndata: pwned\n\n',
  'CR-only forged event': 'x\r\revent: forged\rid: 999\rdata: pwned\r\r',
  'field-looking text': 'id: 123\nretry: 1\n: comment',
  'leading spaces kept': '  two spaces',
  'colon first': ':not a comment',
  unicode: 'Zürich 東京 🚀 \u2028\u2029 é',
  'NUL in data': 'a\0b',
  'JSON with escapes': JSON.stringify({ s: 'line\nbreak\r\n', emoji: '🛒' }),
};

describe('encodeEvent round trip (byte by byte)', () => {
  for (const [name, data] of Object.entries(PAYLOADS)) {
    test(`data: ${name}`, () => {
      const wire = encodeEvent({ event: 'update', id: 'abc:1', data });
      const p = parseBytewise(wire);
      assert.deepEqual(p.errors, []);
      assert.equal(
        p.events.length,
        1,
        `exactly one event for ${JSON.stringify(data)}: ${JSON.stringify(wire)}`,
      );
      assert.equal(p.events[0]!.data, normalise(data));
      assert.equal(p.events[0]!.event, 'update');
      assert.equal(p.events[0]!.id, 'abc:1');
    });
  }

  test('every payload concatenated on one stream yields one event each, in order', () => {
    const list = Object.values(PAYLOADS);
    const wire = list.map((data, i) => encodeEvent({ event: 'update', id: String(i), data })).join('');
    const p = parseBytewise(wire);
    assert.deepEqual(
      p.events.map((e) => [e.id, e.event, e.data]),
      list.map((d, i) => [String(i), 'update', normalise(d)]),
    );
  });

  test('an event without name or id is a default message', () => {
    const p = parseBytewise(encodeEvent({ data: 'x' }));
    assert.equal(p.events.length, 1);
    assert.equal(p.events[0]!.event, undefined);
    assert.equal(p.events[0]!.id, undefined);
  });

  test('unicode event names and ids survive', () => {
    const p = parseBytewise(encodeEvent({ event: 'mise-à-jour', id: 'ü:1.2_東', data: '{}' }));
    assert.equal(p.events[0]!.event, 'mise-à-jour');
    assert.equal(p.events[0]!.id, 'ü:1.2_東');
  });
});

describe('single-line fields', () => {
  for (const bad of ['a\nb', 'a\rb', 'a\r\nb', '\n', 'a\0b']) {
    test(`event ${JSON.stringify(bad)} is rejected`, () => {
      assert.throws(() => encodeEvent({ event: bad, data: 'x' }), SseEncodingError);
      assert.throws(() => encodeJsonEvent(bad, undefined, '{}'), SseEncodingError);
    });
    test(`id ${JSON.stringify(bad)} is rejected`, () => {
      assert.throws(() => encodeEvent({ id: bad, data: 'x' }), SseEncodingError);
      assert.throws(() => encodeJsonEvent('update', bad, '{}'), SseEncodingError);
    });
  }
});

describe('encodeJsonEvent', () => {
  test('fast path equals the general encoder for single-line JSON', () => {
    const json = JSON.stringify({ a: 'x\ny', b: [1, 2] });
    assert.equal(
      encodeJsonEvent('update', 'i:1', json),
      encodeEvent({ event: 'update', id: 'i:1', data: json }),
    );
    assert.equal(encodeJsonEvent('update', undefined, json), encodeEvent({ event: 'update', data: json }));
  });

  test('falls back to the safe encoder if a payload ever carries a raw line break', () => {
    const p = parseBytewise(encodeJsonEvent('update', '1', '{"a":\n"b"}\n\nevent: forged\ndata: x'));
    assert.equal(p.events.length, 1);
    assert.equal(p.events[0]!.event, 'update');
  });
});

describe('comments and retry', () => {
  test('comments are ignored by the parser as events, delivered as comments', () => {
    const p = parseBytewise(encodeComment('') + encodeComment('keep-alive') + encodeEvent({ data: 'x' }));
    assert.deepEqual(p.comments, ['', 'keep-alive']);
    assert.equal(p.events.length, 1);
  });

  test('a comment with line breaks cannot forge an event', () => {
    const p = parseBytewise(encodeComment('a\ndata: forged\r\revent: x\r\n'));
    assert.equal(p.events.length, 0);
    assert.deepEqual(p.comments, ['a', 'data: forged', '', 'event: x', '']);
  });

  test('retry is an integer field the parser reports', () => {
    const p = parseBytewise(encodeRetry(2500.9) + encodeEvent({ retry: 3000, data: 'x' }));
    assert.deepEqual(p.retries, [2500, 3000]);
    assert.equal(p.events.length, 1);
  });

  test('negative or non-finite retry is refused', () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY])
      assert.throws(() => encodeRetry(bad), RangeError);
  });

  test('jittered retry hint stays within [0.5, 1.5) x base', () => {
    const hint = (r: number): number =>
      Number(/^retry: (\d+)\n$/.exec(SseHub.jitteredRetry(2000, () => r))![1]);
    assert.equal(hint(0), 1000);
    assert.equal(hint(0.5), 2000);
    assert.ok(hint(0.999999) <= 3000);
  });

  test('encodeData always ends with a line and an empty payload still dispatches', () => {
    assert.equal(encodeData(''), 'data: \n');
    assert.equal(parseBytewise(`${encodeData('')}\n`).events.length, 1);
  });
});
