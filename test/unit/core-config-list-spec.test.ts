import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseListSpec } from '../../gateway/config/list-spec.ts';
import { parseStreamsSpec } from '../../gateway/config/streams.ts';
import { parseLegacyRoutesSpec } from '../../legacy-adapter/config.ts';

describe('parseListSpec: a JSON array or the short form', () => {
  const pair = ([a, b]: string[]) => ({ a, b });

  test('a JSON array is returned as parsed, whatever it holds', () => {
    assert.deepEqual(parseListSpec('  [{"x":1}, 2] ', pair), [{ x: 1 }, 2]);
    assert.throws(() => parseListSpec('[{"x":', pair), SyntaxError);
  });

  test('the short form: entries by comma, fields by colon, blanks skipped, spaces trimmed', () => {
    assert.deepEqual(parseListSpec(' x:1 , ,y:2,', pair), [
      { a: 'x', b: '1' },
      { a: 'y', b: '2' },
    ]);
    assert.deepEqual(parseListSpec('   ', pair), []);
  });

  test("an entry's error names the entry", () => {
    assert.throws(
      () =>
        parseListSpec('ok:1,bad', (fields, text) => {
          if (fields.length < 2) throw new Error(`"${text}" has no value`);
          return fields;
        }),
      /"bad" has no value/,
    );
  });
});

describe('its two users', () => {
  test('STREAMS: everything after the mode is the topic', () => {
    assert.deepEqual(parseStreamsSpec('orders:feed:live.orders,totals:table:ns:totals'), [
      { name: 'orders', mode: 'feed', topic: 'live.orders' },
      { name: 'totals', mode: 'table', topic: 'ns:totals' },
    ]);
  });

  test('LEGACY_ROUTES: none, the optional contract, too many fields', () => {
    assert.deepEqual(parseLegacyRoutesSpec(' none '), []);
    assert.deepEqual(parseLegacyRoutesSpec('a:/a.json:proxy,b:/b.json:serve:live-map'), [
      { name: 'a', path: '/a.json', mode: 'proxy' },
      { name: 'b', path: '/b.json', mode: 'serve', contract: 'live-map' },
    ]);
    assert.throws(() => parseLegacyRoutesSpec('a:/a:proxy:c:extra'), /is not name:path:mode\[:contract\]/);
    assert.throws(() => parseLegacyRoutesSpec('a:/a'), /is not name:path:mode/);
  });
});
