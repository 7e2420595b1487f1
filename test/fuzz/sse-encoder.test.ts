/**
 * Property-based: the one SSE encoder (gateway/sse/encoder.ts) against a real SSE parser
 * (eventsource-parser), over thousands of generated inputs rich in CR, LF, CRLF, NUL, lone
 * surrogates, BOMs, field-like text and very long lines, delivered in random chunks (also at the
 * byte level, splitting UTF-8 sequences and CRLF pairs). Whatever the data, exactly the events
 * encoded come out, with the same fields: no forged field, no extra or merged event.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import fc from 'fast-check';
import {
  encodeComment,
  encodeEvent,
  encodeJsonEvent,
  encodeRetry,
  SseEncodingError,
  type SseEvent,
} from '../../gateway/sse/encoder.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);

interface Parsed {
  events: EventSourceMessage[];
  comments: string[];
  retries: number[];
  errors: string[];
}

function parser(out: Parsed) {
  return createParser({
    onEvent: (e) => out.events.push(e),
    onComment: (c) => out.comments.push(c),
    onRetry: (r) => out.retries.push(r),
    onError: (e) => out.errors.push(e.message),
  });
}

/** Feeds `wire` as text, cut at the given points (so CRLF, surrogate pairs... may be split). */
function parseChunks(wire: string, cuts: readonly number[]): Parsed {
  const out: Parsed = { events: [], comments: [], retries: [], errors: [] };
  const p = parser(out);
  let at = 0;
  for (const c of [...new Set(cuts.map((x) => x % (wire.length + 1)))].sort((a, b) => a - b)) {
    p.feed(wire.slice(at, c));
    at = c;
  }
  p.feed(wire.slice(at));
  return out;
}

/** Feeds `wire` as UTF-8 bytes cut at the given points, through a streaming decoder (as a socket would). */
function parseBytes(wire: string, cuts: readonly number[]): Parsed {
  const out: Parsed = { events: [], comments: [], retries: [], errors: [] };
  const p = parser(out);
  const bytes = Buffer.from(wire, 'utf8');
  const decoder = new TextDecoder();
  let at = 0;
  for (const c of [...new Set(cuts.map((x) => x % (bytes.length + 1)))].sort((a, b) => a - b)) {
    p.feed(decoder.decode(bytes.subarray(at, c), { stream: true }));
    at = c;
  }
  p.feed(decoder.decode(bytes.subarray(at)));
  return out;
}

/** What the spec makes of data: every line break becomes LF (lines are joined with LF). */
const normalise = (data: string) => data.replace(/\r\n|\r/g, '\n');
/** What UTF-8 makes of a JS string: lone surrogates become U+FFFD. */
const wellFormed = (s: string) =>
  s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');

/** Pieces that break naive encoders: line terminators, NUL, lone surrogates, BOM, field lookalikes. */
const nasty = fc.constantFrom(
  '\r',
  '\n',
  '\r\n',
  '\n\r',
  '\r\r\n',
  '\n\n',
  '\0',
  '\uD800',
  '\uDFFF',
  '\uD83D\uDE00',
  '\uFEFF',
  '\u2028',
  '\u0085',
  ':',
  ' ',
  'data: forged',
  'event: forged',
  'id: forged',
  'retry: 1',
  '\ndata:',
  '\r\nevent:x\r\n\r\n',
);
/** Any string: nasty pieces mixed with arbitrary UTF-16 code units (lone surrogates included). */
const anyText = fc
  .array(
    fc.oneof(
      { weight: 2, arbitrary: nasty },
      { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
      {
        weight: 1,
        arbitrary: fc.string({
          unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
          maxLength: 20,
        }),
      },
    ),
    { maxLength: 30 },
  )
  .map((parts) => parts.join(''));
/** Single-line tokens (event names, ids): no CR, LF or NUL, otherwise anything. */
const token = anyText.map((s) => s.replace(/[\r\n\0]/g, ''));
const cuts = fc.array(fc.nat(), { maxLength: 12 });

const eventArb: fc.Arbitrary<SseEvent> = fc.record(
  {
    event: token.filter((e) => e.length > 0),
    id: token,
    data: anyText,
    retry: fc.nat(1_000_000),
  },
  { requiredKeys: ['data'] },
);

function expectEvents(parsed: Parsed, events: readonly SseEvent[], transform: (s: string) => string): void {
  assert.deepEqual(parsed.errors, []);
  assert.equal(parsed.events.length, events.length, 'exactly the events encoded');
  events.forEach((ev, i) => {
    const got = parsed.events[i]!;
    assert.equal(got.data, transform(normalise(ev.data)), 'data');
    assert.equal(got.event, ev.event === undefined ? undefined : transform(ev.event), 'event');
    // eventsource-parser reports the id field of each event (browsers then keep the last one).
    assert.equal(got.id, ev.id === undefined ? undefined : transform(ev.id), 'id');
  });
  assert.deepEqual(
    parsed.retries,
    events.filter((e) => e.retry !== undefined).map((e) => Math.floor(e.retry!)),
    'retry hints',
  );
}

describe('SSE encoder (property-based)', () => {
  test('one event with any data round-trips through a real parser, split anywhere', () => {
    fc.assert(
      fc.property(eventArb, cuts, (ev, cs) => {
        const wire = encodeEvent(ev);
        assert.equal(wire.includes('\r'), false, 'the encoder never emits a raw CR');
        assert.ok(wire.endsWith('\n\n'));
        expectEvents(parseChunks(wire, cs), [ev], (s) => s);
      }),
      { numRuns: RUNS },
    );
  });

  test('the same at the byte level: UTF-8 split anywhere, lone surrogates become U+FFFD and nothing else changes', () => {
    fc.assert(
      fc.property(eventArb, cuts, (ev, cs) => {
        expectEvents(parseBytes(encodeEvent(ev), cs), [ev], wellFormed);
      }),
      { numRuns: RUNS },
    );
  });

  test('streams of events, comments and retry hints: comments never become events or fields', () => {
    const item = fc.oneof(
      eventArb.map((e) => ({ kind: 'event' as const, e })),
      anyText.map((text) => ({ kind: 'comment' as const, text })),
    );
    fc.assert(
      fc.property(fc.array(item, { maxLength: 12 }), cuts, (items, cs) => {
        const wire = items
          .map((i) => (i.kind === 'event' ? encodeEvent(i.e) : encodeComment(i.text)))
          .join('');
        const events = items.flatMap((i) => (i.kind === 'event' ? [i.e] : []));
        const parsed = parseChunks(wire, cs);
        expectEvents(parsed, events, (s) => s);
        // The parser drops one leading space of a comment, as it does after a field's colon.
        const commentLines = items.flatMap((i) =>
          i.kind === 'comment'
            ? normalise(i.text)
                .split('\n')
                .map((l) => l.replace(/^ /, ''))
            : [],
        );
        assert.deepEqual(parsed.comments, commentLines, 'each comment line comes back as a comment');
      }),
      { numRuns: RUNS },
    );
  });

  test('very long lines (up to 256 KiB) with scattered line breaks round-trip', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 256 * 1024 }),
        fc.array(fc.tuple(fc.nat(), nasty), { maxLength: 5 }),
        cuts,
        (length, inserts, cs) => {
          let data = 'x'.repeat(length);
          for (const [at, piece] of inserts) {
            const i = at % (data.length + 1);
            data = data.slice(0, i) + piece + data.slice(i);
          }
          const ev = { event: 'update', id: 'abc123:1.2_3', data };
          expectEvents(parseChunks(encodeEvent(ev), cs), [ev], (s) => s);
        },
      ),
      { numRuns: 200 },
    );
  });

  test('JSON payloads (any JSON value, any string inside) come back byte for byte', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 4 }),
        fc.string({ unit: 'binary', maxLength: 50 }),
        fc.option(fc.stringMatching(/^[0-9a-f]{6}:\d{1,5}(_\d{1,5}){0,3}$/), { nil: undefined }),
        cuts,
        (value, extra, id, cs) => {
          const json = JSON.stringify({ value, extra });
          const wire = encodeJsonEvent('update', id, json);
          const parsed = parseBytes(wire, cs);
          assert.equal(parsed.events.length, 1);
          assert.equal(parsed.events[0]!.data, wellFormed(json));
          assert.equal(parsed.events[0]!.event, 'update');
          assert.equal(parsed.events[0]!.id, id);
          assert.deepEqual(JSON.parse(parsed.events[0]!.data), JSON.parse(wellFormed(json)));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('an event name or id carrying CR, LF or NUL is refused (it would forge a field), never emitted', () => {
    fc.assert(
      fc.property(anyText, fc.constantFrom('\r', '\n', '\0'), anyText, fc.boolean(), (a, bad, b, inId) => {
        const field = a + bad + b;
        const ev = inId ? { event: 'update', id: field, data: 'x' } : { event: field, data: 'x' };
        assert.throws(() => encodeEvent(ev), SseEncodingError);
        assert.throws(
          () => encodeJsonEvent(inId ? 'update' : field, inId ? field : undefined, '{}'),
          SseEncodingError,
        );
      }),
      { numRuns: RUNS },
    );
  });

  test('retry hints: any non-negative number below 2^53 is one valid retry field; anything else is refused', () => {
    fc.assert(
      fc.property(fc.double(), (ms) => {
        if (Number.isFinite(ms) && ms >= 0 && ms <= Number.MAX_SAFE_INTEGER) {
          const parsed = parseChunks(encodeRetry(ms) + encodeEvent({ data: '' }), []);
          assert.deepEqual(parsed.retries, [Math.floor(ms) + 0]); // + 0: -0 is sent as 0
          assert.equal(parsed.events.length, 1);
        } else assert.throws(() => encodeRetry(ms), RangeError);
      }),
      { numRuns: RUNS },
    );
  });
});
