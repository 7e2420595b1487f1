/**
 * Issue 18: SWITCHYARD_INSTANCE is a setting like the others: in the schema (so a config file
 * and a flag may give it, and a bad value is a config error naming it), and what the fleet
 * calls this instance.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../gateway/config/load.ts';
import { processIdentity } from '../../gateway/fleet/index.ts';
import { loadConfig } from '../../gateway/switchyard.ts';

test('SWITCHYARD_INSTANCE: env, flag and config file; default <hostname>:<PORT>; validated', () => {
  assert.equal(loadConfig({ PORT: '9000' }).instance, `${hostname()}:9000`);
  assert.equal(loadConfig({ SWITCHYARD_INSTANCE: 'gw-a' }).instance, 'gw-a');
  assert.equal(
    loadConfig({ SWITCHYARD_INSTANCE: '', PORT: '9000' }).instance,
    `${hostname()}:9000`,
    'empty: unset',
  );
  assert.equal(loadConfig({}, ['--switchyard-instance', 'gw-b']).instance, 'gw-b');
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-instance-'));
  const path = join(dir, 'switchyard.config.json');
  writeFileSync(path, JSON.stringify({ switchyardInstance: 'pod-7.eu-west-1' }));
  assert.equal(loadConfig({}, ['--config', path]).instance, 'pod-7.eu-west-1');
  // `<instance>/<worker>` is a header value and a log key: no slash, space or control character.
  for (const bad of ['a/b', 'has space', 'x'.repeat(121)])
    assert.throws(
      () => loadConfig({ SWITCHYARD_INSTANCE: bad }),
      (err: unknown) => err instanceof ConfigError && /SWITCHYARD_INSTANCE/.test(err.message),
      JSON.stringify(bad),
    );
  assert.deepEqual(
    processIdentity(loadConfig({ SWITCHYARD_INSTANCE: 'gw-c' }), { SWITCHYARD_WORKER_INDEX: '2' }),
    {
      instance: 'gw-c',
      worker: 2,
    },
  );
});
