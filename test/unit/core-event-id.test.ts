/** Event ids: the cache position, written so the same id means the same data on every instance. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  formatEventId,
  lineageHash,
  MAX_EVENT_ID_LENGTH,
  parseEventId,
  streamPosition,
  streamSetHash,
} from '../../gateway/cache/event-id.ts';

const SET = streamSetHash(['orders', 'totals']);
const LIN = lineageHash(['cluster-a/topic-1', 'cluster-a/topic-2']);
const PREFIX = `${SET}-${LIN}`;

describe('event ids', () => {
  test('the set hash is 6 hex digits, stable, and differs between sets', () => {
    assert.match(SET, /^[0-9a-f]{6}$/);
    assert.equal(streamSetHash(['orders', 'totals']), SET);
    assert.notEqual(streamSetHash(['orders']), SET);
    assert.notEqual(
      streamSetHash(['totals', 'orders']),
      SET,
      'callers must sort: the order is part of the set',
    );
  });

  test('format/parse round trip', () => {
    const cursors = [
      [12, 40],
      [7, 9, 3],
    ];
    const id = formatEventId(PREFIX, cursors.map(streamPosition));
    assert.equal(id, `${PREFIX}:12.40_7.9.3`);
    assert.deepEqual(parseEventId(id, SET, LIN, 2), { kind: 'ok', cursors });
  });

  test('round trip with zero and large offsets', () => {
    const cursors = [[0], [Number.MAX_SAFE_INTEGER, 0]];
    const id = formatEventId(PREFIX, cursors.map(streamPosition));
    assert.deepEqual(parseEventId(id, SET, LIN, 2), { kind: 'ok', cursors });
  });

  for (const bad of [
    '',
    'abc',
    `${SET}`,
    `${SET}:`,
    `${SET}:1._2`,
    `${SET}:1__2`,
    `${SET}:-1_2`,
    `${SET}:1.2_3 `,
    ` ${SET}:1_2`,
    `${SET.toUpperCase()}:1_2`,
    `${SET}:1_2\n`,
    `${SET}:1e3_2`,
    `zzzzzz:1_2`,
    `${SET}:1_2:3`,
    `${SET}:12345678901234567_1`,
  ]) {
    test(`malformed: ${JSON.stringify(bad)}`, () => {
      const r = parseEventId(bad, SET, LIN, 2);
      assert.equal(r.kind, 'malformed');
    });
  }

  test('an offset beyond 2^53 is malformed, not rounded', () => {
    const r = parseEventId(`${SET}:9999999999999999_1`, SET, LIN, 2);
    assert.equal(r.kind, 'malformed');
  });

  test('an id of another set of streams is other-set', () => {
    const other = streamSetHash(['orders']);
    assert.deepEqual(parseEventId(`${other}:5_1`, SET, LIN, 2), { kind: 'other-set' });
  });

  test('the right hash with the wrong number of streams is other-set', () => {
    assert.deepEqual(parseEventId(`${SET}:5`, SET, LIN, 2), { kind: 'other-set' });
    assert.deepEqual(parseEventId(`${SET}:5_1_2`, SET, LIN, 2), { kind: 'other-set' });
  });

  test('an id of other data (another lineage, or none: a gateway before lineages) is other-lineage', () => {
    const other = lineageHash(['cluster-a/topic-1', 'cluster-a/topic-2-recreated']);
    assert.notEqual(other, LIN);
    assert.deepEqual(parseEventId(`${SET}-${other}:5_1`, SET, LIN, 2), { kind: 'other-lineage' });
    assert.deepEqual(parseEventId(`${SET}:5_1`, SET, LIN, 2), { kind: 'other-lineage' });
  });

  test('too long is malformed before any regex work', () => {
    const long = `${SET}:${'1.'.repeat(MAX_EVENT_ID_LENGTH)}1`;
    const r = parseEventId(long, SET, LIN, 1);
    assert.equal(r.kind, 'malformed');
    assert.match((r as { reason: string }).reason, /longer than/);
  });

  test('parse never throws on hostile input', () => {
    for (const raw of ['\0', '\uFFFF', 'a:'.repeat(500), `${SET}:${'9'.repeat(2000)}`])
      assert.doesNotThrow(() => parseEventId(raw, SET, LIN, 2));
  });
});
