import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SseResult } from '../../bench/phases/sse-phase.ts';
import { renderScenario } from '../../bench/report.ts';
import type { WorkersRow } from '../../bench/workers.ts';

function row(round: number, workers: number, p99Ms: number, rss: number): WorkersRow {
  const sse = {
    connected: 1000,
    deliveredPerSec: 10_000,
    lossPct: 0,
    p50Ms: 20,
    p99Ms,
    cpuCorePct: 20,
    cpuUsPerUpdate: 20,
    peakRssMB: rss,
    loadgenCorePct: 10,
    loadAvg: 1,
  } as SseResult;
  return { round, workers, sse, pollsPerSec: 200, pollP99Ms: 5, pollFailures: 0 };
}

test('workers report: a row per gateway and round, then each figure as median (range) per WORKERS', () => {
  const text = renderScenario({
    name: 'workers',
    title: 'WORKERS=1 vs 2',
    params: { streams: 1000, rate: 10, windowS: 10 },
    workers: [
      row(1, 1, 80, 150),
      row(1, 2, 250, 425),
      row(2, 2, 290, 422),
      row(2, 1, 560, 149),
      row(3, 1, 520, 146),
    ],
    errors: [],
    targets: [],
    notes: [],
  });
  const lines = text.split('\n');
  assert.equal(lines.filter((l) => /^\|\s+\d\s+\|\s+[12]\s+\|/.test(l)).length, 5, text);
  assert.match(text, /\| p99 ms\s+\| 520 \(80-560\)\s+\| 270 \(250-290\)\s+\|/);
  assert.match(text, /\| peak RSS MB\s+\| 149 \(146-150\)\s+\| 423.5 \(422-425\)\s+\|/);
});
