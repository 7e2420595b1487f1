import uPlot from './uPlot.esm.js';

const HEIGHT = 250;

const widthOf = (el) => Math.max(300, el.clientWidth);

/** The page's axis look: light labels over dark grid lines. */
const axis = (extra) => ({
  stroke: '#9aa5ba',
  grid: { stroke: '#2a3347' },
  ticks: { stroke: '#2a3347' },
  ...extra,
});

/**
 * A chart of the page in `el`: time on x; the y scale, y axis (size, labels) and series given.
 * As wide as its element, following window resizes; no live legend, no drag-zoom. Returns the
 * uPlot instance (feed it with `setData`).
 */
export function timeChart(el, { y, yAxis, series }, data) {
  const plot = new uPlot(
    {
      width: widthOf(el),
      height: HEIGHT,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y },
      axes: [axis(), axis(yAxis)],
      series,
    },
    data,
    el,
  );
  window.addEventListener('resize', () => plot.setSize({ width: widthOf(el), height: HEIGHT }));
  return plot;
}
