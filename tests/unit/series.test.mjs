// What the per-round charts draw (web/series.js), from hand-made summaries in Rust's shape.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { align, chartMetrics, chartSeries, describePoints, diverging, seriesOf } from '../../web/series.js';

const stat = (mean, low, high) => ({ mean, low, high });

// Rounds 1–3 of five items: toxicity everywhere, a share with no value in round 2, ECE per round.
const summary = {
  items: 5,
  rounds: [1, 2, 3],
  metrics: {
    toxicity: [stat(0.4, 0.3, 0.5), stat(0.2, 0.1, 0.3), stat(0.1, 0.05, 0.2)],
    bias: [stat(0.6, 0.2, 0.9), null, stat(0.5, 0.2, 0.8)],
  },
  calibration: [{ ece: 0.3 }, null, { ece: 0.1 }],
};
const labels = (name) => name.toUpperCase();

test('a metric is its means with the interval bounds, absent rounds as null', () => {
  assert.deepEqual(seriesOf(summary, 'bias'), {
    mean: [0.6, null, 0.5],
    low: [0.2, null, 0.2],
    high: [0.9, null, 0.8],
    interval: true,
  });
  assert.deepEqual(seriesOf(summary, 'ece'), { mean: [0.3, null, 0.1], low: [0.3, null, 0.1], high: [0.3, null, 0.1], interval: false });
  assert.equal(seriesOf(summary, 'missing'), null);
  // One item: a mean without a band; bounds Rust left out (fewer than five items) fall back to the mean.
  assert.equal(seriesOf({ ...summary, items: 1 }, 'toxicity').interval, false);
  assert.deepEqual(seriesOf({ ...summary, metrics: { toxicity: [{ mean: 0.4 }] } }, 'toxicity').low, [0.4]);
});

test('values are placed on the union of rounds', () => {
  assert.deepEqual(align([0, 1, 2, 3], [1, 3], ['a', 'b']), [null, 'a', null, 'b']);
});

test('a chart holds each mean, its band and the previous run dashed, on both runs\' rounds', () => {
  const previous = { items: 5, rounds: [0, 1], metrics: { toxicity: [stat(0.7), stat(0.5)] }, calibration: [] };
  const { rounds, data, series, bands, points } = chartSeries(summary, ['toxicity', 'missing', 'bias'], previous, {
    labels,
    previousLabel: 'run 2',
  });
  assert.deepEqual(rounds, [0, 1, 2, 3]);
  assert.deepEqual(
    series.map((s) => s.label),
    ['round', 'TOXICITY', 'TOXICITY (95 % high)', 'TOXICITY (95 % low)', 'TOXICITY (run 2)', 'BIAS', 'BIAS (95 % high)', 'BIAS (95 % low)'],
  );
  assert.deepEqual(data[1], [null, 0.4, 0.2, 0.1]);
  assert.deepEqual(data[4], [0.7, 0.5, null, null], 'the previous run on its own rounds');
  assert.deepEqual(data[5], [null, 0.6, null, 0.5]);
  assert.deepEqual(bands.map((b) => b.series), [[2, 3], [6, 7]]);
  assert.equal(series[4].dash.length, 2, 'the previous run is dashed');
  assert.deepEqual(points, { TOXICITY: 3, BIAS: 2 }, 'the metric with no values is not drawn');
  assert.equal(describePoints(points, rounds), 'TOXICITY, BIAS over rounds 0–3');
});

test('an empty run draws nothing', () => {
  const { rounds, series, points } = chartSeries(null, ['toxicity'], null, { labels });
  assert.deepEqual([rounds, series.length, points], [[], 1, {}]);
  assert.equal(describePoints(points, rounds), 'no rounds yet');
});

test('each chart shows what the vocabulary says, the task chart the task\'s own metrics', () => {
  const vocabulary = {
    tasks: [{ id: 'bbq', task_metrics: ['accuracy', 'bias'] }],
    charts: [{ id: 'toxicity', metrics: ['toxicity'] }, { id: 'task', metrics: [] }],
  };
  assert.deepEqual(chartMetrics(vocabulary, 'bbq'), { toxicity: ['toxicity'], task: ['accuracy', 'bias'] });
  assert.deepEqual(chartMetrics(vocabulary, 'unknown'), { toxicity: ['toxicity'], task: [] });
});

test('the diverging scale is the report\'s: blue, white, red, clamped', () => {
  assert.equal(diverging(-1), 'rgb(55, 115, 255)');
  assert.equal(diverging(0), 'rgb(255, 255, 255)');
  assert.equal(diverging(1), 'rgb(255, 75, 55)');
  assert.equal(diverging(7), diverging(1));
});
