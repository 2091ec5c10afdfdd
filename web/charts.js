// The per-round charts (uPlot): mean over items with its 95 % interval as a band, and the
// previous run's means dashed for comparison; plus the concept-by-layer heatmap and the
// reliability diagram, drawn on canvases. Every chart carries its points per series in
// `data-points` so that tests (and curious readers) can check what is drawn.

import uPlot from './vendor/uplot/uPlot.esm.js';
import { chartSeries, describePoints, diverging, PALETTE } from './series.js';

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
    const { rounds, data, series, bands, points } = chartSeries(summary, metrics, previous, {
      labels: this.labels,
      previousLabel,
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
    // Painted now, not in a later microtask, so that the page's `draw` time holds the drawing.
    this.plot = new uPlot(opts, data, (u, init) => {
      this.element.append(u.root);
      u.batch(init);
    });
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

/**
 * The concept's cosine by layer (rows, the last on top) and round (columns), on a diverging
 * scale around 0 up to the largest magnitude: the report's `concept-layers.svg`.
 */
export function drawHeatmap(canvas, summary) {
  const columns = summary?.concept_by_layer ?? [];
  const ctx = canvas.getContext('2d');
  const { width, height } = fitCanvas(canvas);
  ctx.clearRect(0, 0, width, height);
  const layers = columns.length ? Math.min(...columns.map((c) => c.length)) : 0;
  canvas.dataset.points = JSON.stringify({ rounds: columns.length, layers });
  if (!columns.length || !layers) return;
  const max = Math.max(1e-9, ...columns.flat().map(Math.abs));
  const [left, top, right, bottom] = [40, 8, 56, 36];
  const cw = (width - left - right) / columns.length;
  const ch = (height - top - bottom) / layers;
  columns.forEach((column, c) => {
    for (let l = 0; l < layers; l++) {
      ctx.fillStyle = diverging(column[l] / max);
      ctx.fillRect(left + c * cw, top + (layers - 1 - l) * ch, Math.ceil(cw), Math.ceil(ch));
    }
  });
  ctx.fillStyle = '#222';
  ctx.font = '12px system-ui, sans-serif';
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  const roundStep = Math.ceil(columns.length / 12);
  summary.rounds.forEach((round, c) => {
    if (c % roundStep === 0) ctx.fillText(String(round), left + (c + 0.5) * cw, height - bottom + 4);
  });
  ctx.fillText('round', left + (width - left - right) / 2, height - 16);
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let l = 0; l < layers; l += Math.max(5, Math.floor(layers / 6))) {
    ctx.fillText(String(l), left - 4, top + (layers - 1 - l + 0.5) * ch);
  }
  ctx.save();
  ctx.translate(10, top + (height - top - bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textAlign = 'center';
  ctx.fillText('layer', 0, 0);
  ctx.restore();
  // The scale: +max at the top, −max at the bottom.
  const lx = width - right + 8;
  const steps = 11;
  const sh = (height - top - bottom) / steps;
  for (let i = 0; i < steps; i++) {
    ctx.fillStyle = diverging(1 - (2 * i) / (steps - 1));
    ctx.fillRect(lx, top + i * sh, 12, Math.ceil(sh));
  }
  ctx.fillStyle = '#222';
  ctx.textAlign = 'left';
  ctx.fillText(max.toFixed(2), lx + 15, top + sh / 2);
  ctx.fillText((-max).toFixed(2), lx + 15, top + (steps - 0.5) * sh);
}

const RELIABILITY_COLORS = [PALETTE[0], PALETTE[1]];

/**
 * Accuracy against mean confidence per bin for the first and the last round with calibration
 * data, a point per non-empty bin sized by its answers: the report's `reliability.svg`.
 * Returns false when no round has any.
 */
export function drawReliability(canvas, summary) {
  const ctx = canvas.getContext('2d');
  const { width, height } = fitCanvas(canvas);
  ctx.clearRect(0, 0, width, height);
  // As the report: the first moral round (not the baseline) and the last.
  const measured = summary ? [...summary.calibration.keys()].filter((i) => summary.calibration[i] && summary.rounds[i] >= 1) : [];
  const shown = [...new Set([measured[0], measured[measured.length - 1]])].filter((i) => i !== undefined);
  canvas.dataset.points = JSON.stringify({ rounds: shown.map((i) => summary.rounds[i]) });
  if (!shown.length) return false;
  const [left, top, right, bottom] = [44, 10, 10, 44];
  const w = width - left - right;
  const h = height - top - bottom;
  const px = (x) => left + x * w;
  const py = (y) => top + h * (1 - y);
  ctx.strokeStyle = '#999';
  ctx.setLineDash([4, 4]);
  ctx.beginPath();
  ctx.moveTo(px(0), py(0));
  ctx.lineTo(px(1), py(1));
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.font = '12px system-ui, sans-serif';
  shown.forEach((index, k) => {
    const c = summary.calibration[index];
    const color = RELIABILITY_COLORS[k];
    const bins = c.bins.filter((b) => b.count > 0);
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    bins.forEach((b, i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, px(b.mean_confidence), py(b.accuracy)));
    ctx.stroke();
    ctx.fillStyle = `${color}b3`;
    for (const b of bins) {
      ctx.beginPath();
      ctx.arc(px(b.mean_confidence), py(b.accuracy), 2 + Math.min(8, Math.sqrt(b.count)), 0, 2 * Math.PI);
      ctx.fill();
    }
    ctx.fillStyle = color;
    ctx.fillRect(left + 10, top + 4 + 16 * k, 10, 10);
    ctx.fillStyle = '#222';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.fillText(`round ${summary.rounds[index]} (ECE ${c.ece.toFixed(3)})`, left + 25, top + 3 + 16 * k);
  });
  ctx.lineWidth = 1;
  ctx.fillStyle = '#222';
  ctx.textBaseline = 'alphabetic';
  for (const t of [0, 0.5, 1]) {
    ctx.textAlign = 'center';
    ctx.fillText(String(t), px(t), top + h + 14);
    ctx.textAlign = 'right';
    ctx.fillText(String(t), left - 4, py(t) + 4);
  }
  ctx.textAlign = 'center';
  ctx.fillText('confidence (mean per bin)', left + w / 2, height - 8);
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
