/**
 * The Dockerfile interpreter behind test/integration/image.test.ts refuses what it does not model,
 * naming the line, before it runs anything: an image test can fail, never pass by skipping a step.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DockerfileBuild, DockerfileError, parseDockerfile } from '../helpers/dockerfile.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-dockerfile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(text: string): Promise<string> {
  const file = join(dir, 'Dockerfile');
  writeFileSync(file, text);
  const build = new DockerfileBuild(file, dir);
  try {
    await build.build();
  } catch (err) {
    assert.ok(err instanceof DockerfileError, String(err));
    return err.message;
  } finally {
    build.cleanup();
  }
  assert.fail('the build was expected to be refused');
}

describe('Dockerfile interpreter', () => {
  test('parses instructions: comments dropped, continuation lines joined, line numbers kept', () => {
    const steps = parseDockerfile('# x\nFROM a AS b\n\nRUN one \\\n  # inside\n  && two\ncmd ["n"]\n');
    assert.deepEqual(
      steps.map((s) => [s.line, s.op, s.args]),
      [
        [2, 'FROM', 'a AS b'],
        [4, 'RUN', 'one    && two'],
        [7, 'CMD', '["n"]'],
      ],
    );
  });

  test('an instruction or form it does not model fails, naming the line', async () => {
    const from = 'FROM node:20-bookworm-slim\n';
    assert.match(
      await refusal(`${from}HEALTHCHECK CMD true\n`),
      /line 2: instruction HEALTHCHECK is not modelled/,
    );
    assert.match(
      await refusal('FROM node:22-alpine\n'),
      /line 1: FROM node:22-alpine: only node:20-bookworm-slim/,
    );
    assert.match(await refusal(`${from}WORKDIR /opt/app\n`), /line 2: WORKDIR names \/opt\/app, outside/);
    assert.match(
      await refusal(`${from}RUN touch /var/../root/x && echo /home/y\n`),
      /line 2: RUN names \/home\/y/,
    );
    assert.match(
      await refusal(`${from}COPY --chown=1:1 a /app/\n`),
      /line 2: COPY --chown=1:1 is not modelled/,
    );
    assert.match(await refusal(`${from}COPY *.json /app/\n`), /only plain paths/);
    assert.match(await refusal(`${from}ENV A=$B\n`), /ENV with variables/);
    assert.match(await refusal(`${from}USER node\n`), /only a numeric uid/);
    assert.match(await refusal(`${from}CMD node main.js\n`), /CMD must be the exec form/);
    assert.match(await refusal(`${from}COPY --from=nowhere /pkg/x /app/\n`), /no stage named nowhere/);
  });
});
