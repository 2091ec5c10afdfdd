// What the per-round charts draw, as pure functions of Rust's summary (no DOM, no uPlot), so
// that `node --test tests/unit/` checks them: which metrics a chart shows, each metric's means
// with their 95 % interval band, the previous run's means for comparison, aligned on rounds.

/** The charts' colours, one per metric of a chart. */
export const PALETTE = ['#0b6e99', '#c2410c', '#15803d', '#7c3aed'];
const BAND_ALPHA = '22';

/** What each chart draws for `task`: `{chart id: [metric names]}`, from Rust's vocabulary. */
export function chartMetrics(vocabulary, task) {
  const entry = vocabulary.tasks.find((t) => t.id === task);
  return Object.fromEntries(vocabulary.charts.map((c) => [c.id, c.id === 'task' ? entry?.task_metrics ?? [] : c.metrics]));
}

/** Per round of `summary`: the series of `name` as {mean, low, high} arrays (null = none). */
export function seriesOf(summary, name) {
  if (name === 'ece') {
    const ece = summary.calibration.map((c) => (c ? c.ece : null));
    return { mean: ece, low: ece, high: ece, interval: false };
  }
  const values = summary.metrics[name];
  if (!values) return null;
  return {
    mean: values.map((v) => (v ? v.mean : null)),
    // Wilson or t bounds from Rust's summary; none below five items.
    low: values.map((v) => (v ? v.low ?? v.mean : null)),
    high: values.map((v) => (v ? v.high ?? v.mean : null)),
    interval: summary.items > 1,
  };
}

/** `values` (one per round of `from`) placed on `rounds`, null where `from` has no such round. */
export function align(rounds, from, values) {
  const at = new Map(from.map((r, i) => [r, values[i]]));
  return rounds.map((r) => at.get(r) ?? null);
}

/**
 * uPlot's data, series and bands for `metrics` of `summary`, with `previous` (an earlier run's
 * summary) dashed: the rounds of both, then per metric its mean, its band's high and low (with
 * more than one item), and the previous mean. `points` counts each mean's drawn points.
 */
export function chartSeries(summary, metrics, previous, { labels, previousLabel = 'previous run' }) {
  const rounds = [...new Set([...(summary?.rounds ?? []), ...(previous?.rounds ?? [])])].sort((a, b) => a - b);
  const data = [rounds];
  const series = [{ label: 'round' }];
  const bands = [];
  const points = {};
  metrics.forEach((name, i) => {
    const s = summary && seriesOf(summary, name);
    if (!s || s.mean.every((v) => v === null)) return;
    const color = PALETTE[i % PALETTE.length];
    const label = labels(name);
    const mean = align(rounds, summary.rounds, s.mean);
    data.push(mean);
    series.push({ label, stroke: color, width: 2, points: { show: true, size: 6 } });
    points[label] = mean.filter((v) => v !== null).length;
    if (s.interval) {
      const meanIndex = data.length - 1;
      data.push(align(rounds, summary.rounds, s.high), align(rounds, summary.rounds, s.low));
      series.push({ label: `${label} (95 % high)`, stroke: 'transparent', points: { show: false } });
      series.push({ label: `${label} (95 % low)`, stroke: 'transparent', points: { show: false } });
      bands.push({ series: [meanIndex + 1, meanIndex + 2], fill: `${color}${BAND_ALPHA}` });
    }
    const p = previous && seriesOf(previous, name);
    if (p) {
      data.push(align(rounds, previous.rounds, p.mean));
      series.push({ label: `${label} (${previousLabel})`, stroke: color, dash: [6, 4], width: 1.5, points: { show: false } });
    }
  });
  return { rounds, data, series, bands, points };
}

/** The chart in words, for its `aria-label`. */
export function describePoints(points, rounds) {
  if (!rounds.length) return 'no rounds yet';
  return `${Object.keys(points).join(', ')} over rounds ${rounds[0]}–${rounds[rounds.length - 1]}`;
}

/**
 * Blue (−1) through white (0) to red (+1): the report's diverging scale
 * (crates/sclab-cli/src/report/svg.rs, `diverging`), so the page and the report colour alike.
 */
export function diverging(t) {
  const v = Math.max(-1, Math.min(1, t));
  const [r, g, b] = v >= 0 ? [255, 255 - 180 * v, 255 - 200 * v] : [255 + 200 * v, 255 + 140 * v, 255];
  return `rgb(${Math.round(r)}, ${Math.round(g)}, ${Math.round(b)})`;
}
