import { formatAge } from './panel.js';
import { timeChart } from './time-chart.js';

const SAMPLE_MS = 500;
const POINTS = (90 * 1000) / SAMPLE_MS;

/**
 * The data age of both panels over the last 90 s: a sawtooth for polling (it grows until the
 * next poll lands), a flat line near zero for SSE. The clearest picture of the difference.
 */
export class AgeChart {
  constructor(el, panels) {
    this.el = el;
    this.panels = panels;
    this.data = [[], [], []];
    this.plot = timeChart(
      el,
      {
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
        yAxis: { size: 50, values: (_u, ticks) => ticks.map((v) => (v === null ? null : `${v} s`)) },
        series: [
          {},
          { label: 'Polling: data age', stroke: '#f59e0b', width: 2, value: (_u, v) => formatAge(v * 1000) },
          { label: 'SSE: data age', stroke: '#38bdf8', width: 2, value: (_u, v) => formatAge(v * 1000) },
        ],
      },
      this.data,
    );
  }

  start() {
    setInterval(() => this.sample(), SAMPLE_MS);
  }

  sample() {
    const row = [Date.now() / 1000, ...this.panels.map((p) => (p.age === null ? null : p.age / 1000))];
    row.forEach((v, i) => {
      this.data[i].push(v);
      if (this.data[i].length > POINTS) this.data[i].shift();
    });
    this.plot.setData(this.data);
  }
}
