// The per-round charts (uPlot): mean over items with its 95 % interval as a band, and the
// previous run's means dashed for comparison; plus the concept-by-layer heatmap and the
// reliability diagram, drawn on canvases. Every chart carries its points per series in
// `data-points` so that tests (and curious readers) can check what is drawn.

import uPlot from './vendor/uplot/uPlot.esm.js';

const COLORS = ['#0b6e99', '#c2410c', '#15803d', '#7c3aed'];
const BAND_ALPHA = '22';

/** What each chart draws for `task`: `{chart id: [metric names]}`, from Rust's vocabulary. */
export function chartMetrics(vocabulary, task) {
  const entry = vocabulary.tasks.find((t) => t.id === task);
  return Object.fromEntries(vocabulary.charts.map((c) => [c.id, c.id === 'task' ? entry?.task_metrics ?? [] : c.metrics]));
}

/** Per round of `summary`: the series of `name` as {mean, low, high} arrays (null = none). */
function seriesOf(summary, name) {
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

function align(rounds, from, values) {
  const at = new Map(from.map((r, i) => [r, values[i]]));
  return rounds.map((r) => at.get(r) ?? null);
}

export class Chart {
  constructor(element, { title, unit, unitInterval, labels }) {
    this.element = element;
    this.title = title;
    this.unit = unit;
    this.unitInterval = unitInterval;
    this.labels = labels;
    this.plot = null;
  }

  update(summary, metrics, previous, previousLabel = 'previous run') {
    const rounds = [...new Set([...(summary?.rounds ?? []), ...(previous?.rounds ?? [])])].sort((a, b) => a - b);
    const data = [rounds];
    const series = [{ label: 'round' }];
    const bands = [];
    const points = {};
    metrics.forEach((name, i) => {
      const s = summary && seriesOf(summary, name);
      if (!s || s.mean.every((v) => v === null)) return;
      const color = COLORS[i % COLORS.length];
      const label = this.labels(name);
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
    this.element.dataset.points = JSON.stringify(points);
    const legend = series.slice(1).filter((s) => !s.label.includes('95 %'));
    this.element.setAttribute('aria-label', `${this.title}: ${describePoints(points, rounds)}`);
    const width = Math.max(260, this.element.clientWidth || 320);
    const opts = {
      width,
      height: 220,
      title: this.title,
      scales: { x: { time: false }, y: this.unitInterval ? { range: [0, 1] } : {} },
      axes: [
        { label: 'round', values: (_, ticks) => ticks.map((t) => (Number.isInteger(t) ? t : '')) },
        { label: this.unit, size: 56 },
      ],
      series,
      bands,
      legend: { show: false },
    };
    this.plot?.destroy();
    this.element.replaceChildren();
    if (!rounds.length) {
      this.plot = null;
      const empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent = `${this.title}: run an experiment to see it round by round.`;
      this.element.append(empty);
      return;
    }
    this.plot = new uPlot(opts, data, this.element);
    this.element.append(legendOf(legend, bands.length > 0));
  }
}

/** The means (and previous runs, dashed) with their colours; the bands are explained once. */
function legendOf(series, banded) {
  const list = document.createElement('ul');
  list.className = 'legend';
  for (const s of series) {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = s.dash ? 'swatch dashed' : 'swatch';
    swatch.style.borderColor = s.stroke;
    item.append(swatch, document.createTextNode(s.label));
    list.append(item);
  }
  if (banded) {
    const note = document.createElement('li');
    note.textContent = 'bands: 95 % interval of the mean over items';
    list.append(note);
  }
  return list;
}

function describePoints(points, rounds) {
  if (!rounds.length) return 'no rounds yet';
  return `${Object.keys(points).join(', ')} over rounds ${rounds[0]}–${rounds[rounds.length - 1]}`;
}

/** Mean concept score per round (rows) and layer (columns), blue (low) to red (high). */
export function drawHeatmap(canvas, summary) {
  const rows = summary?.concept_by_layer ?? [];
  const ctx = canvas.getContext('2d');
  const { width, height } = fitCanvas(canvas);
  ctx.clearRect(0, 0, width, height);
  const layers = Math.max(0, ...rows.map((r) => r.length));
  canvas.dataset.points = JSON.stringify({ rounds: rows.length, layers });
  if (!rows.length || !layers) return;
  const values = rows.flat();
  const [lo, hi] = [Math.min(...values), Math.max(...values)];
  const left = 52;
  const top = 8;
  const bottom = 34;
  const cw = (width - left - 8) / layers;
  const ch = (height - top - bottom) / rows.length;
  rows.forEach((row, r) => {
    row.forEach((v, l) => {
      const t = hi > lo ? (v - lo) / (hi - lo) : 0.5;
      ctx.fillStyle = `rgb(${Math.round(40 + 200 * t)}, ${Math.round(90 + 40 * (1 - Math.abs(2 * t - 1)))}, ${Math.round(240 - 200 * t)})`;
      ctx.fillRect(left + l * cw, top + r * ch, Math.ceil(cw), Math.ceil(ch));
    });
  });
  ctx.fillStyle = '#222';
  ctx.font = '12px system-ui, sans-serif';
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  summary.rounds.forEach((round, r) => ctx.fillText(`round ${round}`, left - 4, top + (r + 0.5) * ch));
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const step = Math.ceil(layers / 10);
  for (let l = 0; l < layers; l += step) ctx.fillText(String(l), left + (l + 0.5) * cw, height - bottom + 4);
  ctx.fillText(`layer · cosine from ${lo.toFixed(3)} (blue) to ${hi.toFixed(3)} (red)`, left + (width - left) / 2, height - 16);
}

/** Accuracy against confidence per bin for the last round with calibration data (false: none). */
export function drawReliability(canvas, summary) {
  const ctx = canvas.getContext('2d');
  const { width, height } = fitCanvas(canvas);
  ctx.clearRect(0, 0, width, height);
  const last = summary ? [...summary.calibration.keys()].reverse().find((i) => summary.calibration[i]) : undefined;
  canvas.dataset.points = JSON.stringify({ bins: last === undefined ? 0 : summary.calibration[last].bins.length });
  if (last === undefined) return false;
  const c = summary.calibration[last];
  const [left, top, right, bottom] = [44, 10, 10, 44];
  const w = width - left - right;
  const h = height - top - bottom;
  ctx.strokeStyle = '#999';
  ctx.beginPath();
  ctx.moveTo(left, top + h);
  ctx.lineTo(left + w, top);
  ctx.stroke();
  ctx.fillStyle = '#0b6e99cc';
  for (const bin of c.bins) {
    if (!bin.count) continue;
    const x = left + bin.lower * w;
    const bw = (bin.upper - bin.lower) * w - 2;
    ctx.fillRect(x + 1, top + h * (1 - bin.accuracy), bw, h * bin.accuracy);
  }
  ctx.fillStyle = '#222';
  ctx.font = '12px system-ui, sans-serif';
  ctx.textAlign = 'center';
  for (const t of [0, 0.5, 1]) {
    ctx.fillText(String(t), left + t * w, top + h + 12);
    ctx.textAlign = 'right';
    ctx.fillText(String(t), left - 4, top + h * (1 - t) + 4);
    ctx.textAlign = 'center';
  }
  ctx.fillText(`confidence · round ${summary.rounds[last]} · ECE ${c.ece.toFixed(3)}`, left + w / 2, height - 8);
  ctx.save();
  ctx.translate(12, top + h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('accuracy', 0, 0);
  ctx.restore();
  return true;
}

function fitCanvas(canvas) {
  const width = canvas.clientWidth || 320;
  const height = canvas.clientHeight || 220;
  const scale = window.devicePixelRatio || 1;
  canvas.width = width * scale;
  canvas.height = height * scale;
  canvas.getContext('2d').setTransform(scale, 0, 0, scale, 0, 0);
  return { width, height };
}
