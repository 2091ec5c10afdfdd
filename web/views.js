// What the page shows: the charts and figures of the run on screen, the transcript, the item
// picker, the list of stored runs, the engine line, notices and status lines. Views read the
// state and write the DOM; they start nothing.

import { Chart, drawHeatmap, drawReliability } from './charts.js';
import { chartMetrics } from './series.js';
import { Transcript } from './transcript.js';
import { listRuns, deleteRun } from './store.js';
import { timed } from './timing.js';
import { state, allItems, label } from './state.js';

const $ = (id) => document.getElementById(id);

// Built from the vocabulary by `buildFromVocabulary`: {chart id: Chart}, and the transcript.
let charts = {};
export let transcript = null;

/** The task menu, the settings' bounds, the charts and the transcript, from Rust's vocabulary. */
export function buildFromVocabulary() {
  const { vocabulary } = state;
  // Whether the paper ran each task comes with it.
  $('task').replaceChildren(...vocabulary.tasks.map((t) => new Option(`${t.label} — ${t.provenance}`, t.id)));
  // Each setting's choices, and the paper's answer lengths for the max-tokens note.
  for (const [field, choices] of Object.entries(vocabulary.choices)) {
    $(field.replaceAll('_', '-')).replaceChildren(...choices.map((c) => new Option(c.label, c.value)));
  }
  const lengths = vocabulary.tasks.filter((t) => t.provenance.startsWith('paper')).map((t) => `${t.label} ${t.max_tokens}`);
  $('max-tokens-note').textContent =
    `Empty: the paper's answer length (${lengths.join(', ')} tokens). A shorter one runs faster but departs from the paper.`;
  const bounded = { rounds: 'rounds', samples: 'samples', limit: 'items', temperature: 'temperature', 'max-tokens': 'max_tokens' };
  for (const [id, limit] of Object.entries(bounded)) [$(id).min, $(id).max] = vocabulary.limits[limit];
  charts = Object.fromEntries(
    vocabulary.charts.map((c) => [
      c.id,
      new Chart($(`chart-${c.id}`), { title: c.title, unit: c.unit, unitInterval: c.unit_interval, labels: label }),
    ]),
  );
  transcript = new Transcript($('transcript'), vocabulary.toxic_threshold);
}

export function redraw() {
  timed('draw', drawAll);
}

function drawAll() {
  const { vocabulary, current, comparison, comparisonLabel } = state;
  if (!vocabulary) return;
  const summary = current?.summary ?? null;
  const metrics = chartMetrics(vocabulary, current?.config.task ?? $('task').value);
  for (const [name, chart] of Object.entries(charts)) chart.update(summary, metrics[name], comparison, comparisonLabel);
  // A canvas is sized from its layout, so a figure is shown before it is drawn.
  const heatmap = $('heatmap').closest('figure');
  heatmap.hidden = !summary?.concept_by_layer.length;
  if (!heatmap.hidden) drawHeatmap($('heatmap'), summary);
  $('reliability-figure').hidden = !summary?.calibration.some(Boolean);
  if (!$('reliability-figure').hidden) drawReliability($('reliability'), summary);
  $('export-json').disabled = $('export-csv').disabled = !current || !allItems(current).length;
}

/** Whether the transcript shows item `index` of the run. */
export const showsItem = (index) => $('transcript-item').value === String(index);

export function refreshItemPicker(selected) {
  const { current } = state;
  const picker = $('transcript-item');
  const items = current ? allItems(current) : [];
  const partial = current?.partial && !current.partial.rounds.length ? [current.partial] : [];
  picker.replaceChildren(...[...items, ...partial].map((item, i) => new Option(`${i + 1}. ${item.id}`, String(i))));
  if (selected !== undefined) picker.value = String(selected);
}

/** Put `run` (or nothing) on screen. */
export function showRun(run) {
  state.current = run;
  refreshItemPicker(0);
  const first = run && allItems(run)[0];
  if (first) transcript.show(first);
  else transcript.clear();
  redraw();
}

/** The stored runs, listed with Show and Delete, and offered for comparison; resolves to them. */
export async function refreshRuns() {
  const runs = await listRuns();
  const list = $('runs');
  list.replaceChildren();
  const compare = $('compare');
  const chosen = compare.value;
  compare.replaceChildren(new Option('no other run', ''));
  for (const run of runs) {
    const items = allItems(run);
    const rounds = items.reduce((n, i) => n + i.rounds.length, 0);
    const when = new Date(run.created).toLocaleString();
    const text = `${when} · ${run.config.task} · ${items.length} item${items.length === 1 ? '' : 's'}, ${rounds} rounds · ${run.status}`;
    const li = document.createElement('li');
    li.dataset.run = run.id;
    const span = document.createElement('span');
    span.textContent = text;
    const show = document.createElement('button');
    show.type = 'button';
    show.textContent = 'Show';
    show.onclick = () => showRun(run);
    const remove = document.createElement('button');
    remove.type = 'button';
    remove.textContent = 'Delete';
    remove.onclick = async () => {
      await deleteRun(run.id);
      if (state.current?.id === run.id) showRun(null);
      refreshRuns();
    };
    li.append(span, show, remove);
    list.append(li);
    if (run.id !== state.current?.id && run.summary) compare.append(new Option(text, run.id));
  }
  compare.value = [...compare.options].some((o) => o.value === chosen) ? chosen : '';
  return runs;
}

/** The model line under "Model": a status, or the progress of a download (bytes) or of a
 * measurement (`unit`: what is counted). */
export function showStatus({ text, done, total, unit }) {
  const { modelInfo } = state;
  $('model-status').textContent = text || (modelInfo ? `Ready: ${modelInfo.name}` : 'Opening the model…');
  const bar = $('model-progress');
  bar.hidden = !(text && total);
  if (total) {
    bar.max = total;
    bar.value = done;
    $('model-status').textContent = unit
      ? `${text}: ${done} of ${total} ${unit}`
      : `${text}: ${(done / 2 ** 20).toFixed(1)} of ${(total / 2 ** 20).toFixed(1)} MiB`;
  }
}

/** The loaded model's description. */
export function showModel(info, licence) {
  $('info-name').textContent = `${info.name} (${(info.bytes / 2 ** 20).toFixed(1)} MiB, sha256 ${info.sha256.slice(0, 12)}…)`;
  $('info-shape').textContent = `${info.architecture}, ${info.layers} layers, hidden ${info.hidden_size}, vocabulary ${info.vocab_size}, context ${info.context_length}`;
  showEngine(info);
  $('info-memory').textContent = `${(info.wasm_memory_bytes / 2 ** 20).toFixed(0)} MiB of wasm memory after loading`;
  $('info-licence').textContent = licence;
  $('model-info').hidden = false;
  $('model-status').textContent = `Ready: ${info.name}`;
}

/** The engine line: where the model runs, and why not on the GPU when that was wanted. */
export function showEngine({ backend, device, reason }) {
  const where = backend === 'gpu' ? `WebGPU on ${device}` : 'CPU (wasm SIMD)';
  $('info-backend').textContent = reason ? `${where}; ${reason}` : where;
}

export function showProgress({ rounds_done: done, rounds_total: total }) {
  $('run-progress').max = total;
  $('run-progress').value = done;
  $('run-status').textContent = `${done} of ${total} rounds`;
}

/** The controls while a run goes on (or not), and the run's status line. */
export function showRunning() {
  const { running, modelInfo, current } = state;
  $('run').disabled = running || !modelInfo;
  $('cancel').disabled = !running;
  for (const id of ['engine', 'model-choice', 'model-file']) $(id).disabled = running;
  $('run-progress').hidden = !running;
  $('run-status').textContent = running ? 'starting…' : current ? `run ${current.status}` : '';
}

export function showError(message) {
  const box = $('config-error');
  box.textContent = message;
  box.hidden = !message;
}

export function showNotice(text) {
  $('notice').textContent = text;
  $('notice').hidden = !text;
}
