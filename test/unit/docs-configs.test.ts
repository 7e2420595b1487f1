/**
 * Every example config in docs/ passes `switchyard config check` (so the docs cannot rot):
 * the config files (with the contracts they name, loaded), and the JSON config blocks of the
 * Markdown pages (settings only: their paths are illustrations).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadConfig } from '../../gateway/switchyard.ts';
import { configCommand } from '../../scripts/config-command.ts';

const DOCS = join(import.meta.dirname, '../../docs');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const files = walk(DOCS);
const configFiles = files.filter((f) => /switchyard[^/]*\.config\.json$/.test(f));
/** ```json blocks that are config files (they set a list of streams, routes or brokers). */
const blocks = files
  .filter((f) => f.endsWith('.md'))
  .flatMap((f) =>
    [...readFileSync(f, 'utf8').matchAll(/```json\n([\s\S]*?)```/g)]
      .map((m) => m[1] ?? '')
      .filter((text) => {
        let v: unknown;
        try {
          v = JSON.parse(text);
        } catch {
          return false;
        }
        const o = v as Record<string, unknown> | null;
        return (
          typeof o === 'object' &&
          o !== null &&
          (Array.isArray(o.streams) || 'legacyRoutes' in o || 'kafkaBrokers' in o)
        );
      })
      .map((text, i) => ({ where: `${relative(DOCS, f)} block ${i + 1}`, text })),
  );

const tmp = mkdtempSync(join(tmpdir(), 'switchyard-docs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('example configs in docs/', () => {
  test('there are some (the Kubernetes one at least)', () => {
    assert.ok(
      configFiles.some((f) => f.includes('kubernetes')),
      configFiles.join(', '),
    );
    assert.ok(blocks.length > 0);
  });

  for (const file of configFiles)
    test(`config check ${relative(DOCS, file)}`, async () => {
      let out = '';
      let err = '';
      const code = await configCommand(
        ['check', file],
        {},
        (s) => {
          out += s;
        },
        (s) => {
          err += s;
        },
      );
      assert.equal(code, 0, err);
      assert.match(out, /: valid \(/);
    });

  for (const block of blocks)
    test(`settings of ${block.where}`, () => {
      const path = join(tmp, `${block.where.replace(/\W+/g, '-')}.json`);
      writeFileSync(path, block.text);
      assert.doesNotThrow(() => loadConfig({}, ['--config', path]));
    });
});
