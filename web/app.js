// The lab page: wires the form, the engine worker, the charts, the transcript and the stored
// runs together. State lives in `current` (the run on screen) and in IndexedDB.

import { LabClient } from './lab-client.js';
import { readConfig, writeConfig, showTaskFields, configToHash, configFromHash } from './controls.js';
import { Chart, chartMetrics, drawHeatmap, drawReliability } from './charts.js';
import { Transcript } from './transcript.js';
import { saveRun, listRuns, deleteRun } from './store.js';
import { downloadJsonLines, downloadCsv } from './export.js';
import { timed, timedAsync, summedTime, recordRound, clearTimings } from './timing.js';

const $ = (id) => document.getElementById(id);
// Rust's names, labels, charts, tasks and limits (`vocabulary` in sclab-web), set by `start`;
// the page keeps no copy of its own.
let vocabulary = null;
const label = (name) => vocabulary?.labels[name] ?? name;
// Built from the vocabulary by `start`: {chart id: Chart}, and the transcript.
let charts = {};
let transcript = null;
let current = null;
let comparison = null;
// The compared run's condition in words ("neutral review", …), its series' legend.
let comparisonLabel = '';
let modelInfo = null;
let running = false;
let saving = Promise.resolve();

const client = new LabClient({ onEvent, onStatus });

function onStatus({ text, done, total }) {
  $('model-status').textContent = text || (modelInfo ? `Ready: ${modelInfo.name}` : 'Ready');
  const bar = $('model-progress');
  bar.hidden = !(text && total);
  if (total) {
    bar.max = total;
    bar.value = done;
    $('model-status').textContent = `${text}: ${(done / 2 ** 20).toFixed(1)} of ${(total / 2 ** 20).toFixed(1)} MiB`;
  }
}

function showError(message) {
  const box = $('config-error');
  box.textContent = message;
  box.hidden = !message;
}

function persist() {
  const snapshot = timed('persist', () => structuredClone(current));
  saving = saving.then(() => timedAsync('persist', () => saveRun(snapshot))).catch((e) => console.warn('could not save the run', e));
  return saving;
}

/** Every item record of a run, the unfinished one included (its rounds so far). */
function allItems(run) {
  return run.partial?.rounds.length ? [...run.items, run.partial] : run.items;
}

function redraw() {
  timed('draw', drawAll);
}

function drawAll() {
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

function onEvent(event) {
  if (!current) return;
  switch (event.type) {
    case 'header':
      current.header = event.header;
      break;
    case 'item_started':
      current.partial = event.record;
      transcript.clear(event.record.query);
      refreshItemPicker(event.index);
      break;
    case 'token':
    case 'sample':
      if ($('transcript-item').value === String(event.index)) summedTime('transcript', () => transcript.token(event));
      break;
    case 'backend':
      showEngine({ backend: event.backend, device: event.device });
      showNotice(event.reason);
      if ($('transcript-item').value === String(event.index)) transcript.restartUnfinished();
      break;
    case 'round':
      current.partial?.rounds.push(event.record);
      if ($('transcript-item').value === String(event.index)) summedTime('transcript', () => transcript.round(event.record));
      persist();
      break;
    case 'timing':
      recordRound(event.ms);
      break;
    case 'item':
      current.items.push(event.record);
      current.partial = null;
      persist();
      break;
    case 'summary':
      current.summary = event.summary;
      redraw();
      break;
    case 'progress':
      $('run-progress').max = event.rounds_total;
      $('run-progress').value = event.rounds_done;
      $('run-status').textContent = `${event.rounds_done} of ${event.rounds_total} rounds`;
      break;
    case 'finished':
      current.status = event.cancelled ? 'cancelled' : 'done';
      persist();
      break;
    case 'error':
      current.status = 'error';
      current.error = event.message;
      persist();
      break;
    default:
      break;
  }
}

function refreshItemPicker(selected) {
  const picker = $('transcript-item');
  const items = current ? allItems(current) : [];
  const partial = current?.partial && !current.partial.rounds.length ? [current.partial] : [];
  picker.replaceChildren(
    ...[...items, ...partial].map((item, i) => {
      const option = document.createElement('option');
      option.value = String(i);
      option.textContent = `${i + 1}. ${item.id}`;
      return option;
    }),
  );
  if (selected !== undefined) picker.value = String(selected);
}

function showRun(run) {
  current = run;
  refreshItemPicker(0);
  const first = allItems(run)[0];
  if (first) transcript.show(first);
  else transcript.clear();
  redraw();
}

async function refreshRuns() {
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
      if (current?.id === run.id) showRun(null);
      refreshRuns();
    };
    li.append(span, show, remove);
    list.append(li);
    if (run.id !== current?.id && run.summary) compare.append(new Option(text, run.id));
  }
  compare.value = [...compare.options].some((o) => o.value === chosen) ? chosen : '';
  return runs;
}

async function loadDefaults(task) {
  const config = await client.request('defaults', { task });
  writeConfig({ ...config, limit: 1 });
}

let previews = 0;

async function preview() {
  if (!modelInfo || running) return;
  const ticket = ++previews;
  try {
    const config = readConfig();
    history.replaceState(null, '', configToHash(config));
    const needs = await client.request('needs', { config });
    const items = await client.request('items', { config });
    if (ticket !== previews || running) return; // settings changed, or a run began, meanwhile
    const first = items[0]?.query ?? '';
    $('items-preview').textContent = `${items.length} item${items.length === 1 ? '' : 's'}; the first: ${first.slice(0, 240)}${first.length > 240 ? '…' : ''}`;
    $('task-caption').textContent = `Task performance (headline: ${label(needs.headline)})`;
    showError('');
  } catch (e) {
    if (ticket === previews && !running) showError(e.message);
  }
}

async function run(event) {
  event.preventDefault();
  if (running) return;
  let config;
  try {
    config = readConfig();
  } catch (e) {
    showError(e.message);
    return;
  }
  showError('');
  $('link-error').hidden = true;
  history.replaceState(null, '', configToHash(config));
  const needs = await client.request('needs', { config }).catch((e) => showError(e.message));
  if (!needs) return;
  current = {
    id: crypto.randomUUID(), created: new Date().toISOString(), config, headline: needs.headline,
    model: modelInfo.name, header: null, items: [], partial: null, summary: null, status: 'running',
  };
  transcript.clear();
  clearTimings();
  redraw();
  setRunning(true);
  previews++;
  persist();
  try {
    await client.run(config);
  } catch (e) {
    if (current.status === 'running') current.status = e.message === 'cancelled' ? 'cancelled' : 'error';
    if (e.message !== 'cancelled') showError(e.message);
    if (current.status === 'cancelled' && !modelInfo.reopened) await reopen();
  } finally {
    setRunning(false);
    await persist();
    refreshRuns();
    preview();
  }
}

/** After a hard cancel (no shared flag) the fresh worker needs the model again. */
async function reopen() {
  modelInfo = { ...modelInfo, ...(await client.request('open', { source: modelInfo.source ?? 'default', file: modelInfo.file, engine: $('engine').value })) };
}

/** The engine line: where the model runs, and why not on the GPU when that was wanted. */
function showEngine({ backend, device, reason }) {
  const where = backend === 'gpu' ? `WebGPU on ${device}` : 'CPU (wasm SIMD)';
  $('info-backend').textContent = reason ? `${where}; ${reason}` : where;
}

async function changeEngine() {
  localStorage.setItem('sclab-engine', $('engine').value);
  if (!modelInfo || running) return;
  $('run').disabled = true;
  try {
    const info = await client.request('engine', { engine: $('engine').value });
    modelInfo = { ...modelInfo, ...info };
    showEngine(info);
  } catch (e) {
    showNotice(`Could not change the engine: ${e.message}`);
  } finally {
    $('run').disabled = running || !modelInfo;
  }
}

function setRunning(on) {
  running = on;
  $('run').disabled = on || !modelInfo;
  $('cancel').disabled = !on;
  $('engine').disabled = on;
  $('run-progress').hidden = !on;
  $('run-status').textContent = on ? 'starting…' : current ? `run ${current.status}` : '';
}

async function openModel(source, file) {
  $('run').disabled = true;
  const previous = modelInfo;
  try {
    const info = await client.request('open', { source, file, engine: $('engine').value });
    modelInfo = { ...info, source, file };
    $('info-name').textContent = `${info.name} (${(info.bytes / 2 ** 20).toFixed(1)} MiB, sha256 ${info.sha256.slice(0, 12)}…)`;
    $('info-shape').textContent = `${info.architecture}, ${info.layers} layers, hidden ${info.hidden_size}, vocabulary ${info.vocab_size}, context ${info.context_length}`;
    showEngine(info);
    $('info-memory').textContent = `${(info.wasm_memory_bytes / 2 ** 20).toFixed(0)} MiB of wasm memory after loading`;
    $('model-info').hidden = false;
    $('model-status').textContent = `Ready: ${info.name}`;
    showNotice(info.isolated ? '' : 'This page is not cross-origin isolated, so Cancel restarts the engine.');
    $('run').disabled = running;
    preview();
  } catch (e) {
    const name = file?.name ?? 'the model';
    $('model-status').textContent = `Could not load ${name}.`;
    showNotice(`Could not load ${name}: ${e.message}`);
    // The engine let go of the previous model to make room; take it back.
    if (previous && previous.source !== source) await openModel(previous.source, previous.file);
  }
}

function showNotice(text) {
  $('notice').textContent = text;
  $('notice').hidden = !text;
}

/** The task menu, the settings' bounds, the charts and the transcript, from Rust's vocabulary. */
function buildFromVocabulary() {
  // Whether the paper ran each task comes with it.
  $('task').replaceChildren(...vocabulary.tasks.map((t) => new Option(`${t.label} — ${t.provenance}`, t.id)));
  for (const id of ['rounds', 'samples']) [$(id).min, $(id).max] = vocabulary.limits[id];
  charts = Object.fromEntries(
    vocabulary.charts.map((c) => [
      c.id,
      new Chart($(`chart-${c.id}`), { title: c.title, unit: c.unit, unitInterval: c.unit_interval, labels: label }),
    ]),
  );
  transcript = new Transcript($('transcript'), vocabulary.toxic_threshold);
}

async function start() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('./sw.js').catch((e) => console.warn('offline mode unavailable:', e.message));
  }
  let shared = null;
  try {
    shared = configFromHash(location.hash);
    if (shared) await client.request('needs', { config: shared });
  } catch (e) {
    // Kept until the next run: the previews that clear setting errors must not hide it.
    $('link-error').textContent = `The link's settings could not be used (${e.message}); the defaults are shown instead.`;
    $('link-error').hidden = false;
    shared = null;
  }
  vocabulary = await client.request('vocabulary', {});
  buildFromVocabulary();
  await loadDefaults(shared?.task ?? 'rtp');
  if (shared) writeConfig(shared);
  const runs = await refreshRuns();
  if (runs.length) showRun(runs[0]);
  else redraw();
  $('engine').value = localStorage.getItem('sclab-engine') ?? 'auto';
  openModel('default');
}

$('controls').addEventListener('submit', run);
$('cancel').addEventListener('click', () => {
  $('run-status').textContent = 'cancelling…';
  if (client.cancel()) current.status = 'cancelled';
});
$('task').addEventListener('change', async () => {
  showTaskFields();
  await loadDefaults($('task').value);
  preview();
});
$('reset-instructions').addEventListener('click', async () => {
  const config = await client.request('defaults', { task: $('task').value });
  writeConfig({ instructions: config.instructions });
  preview();
});
for (const id of ['limit', 'offset', 'subset', 'seed', 'rounds', 'samples', 'clustering', 'concept', 'prompt', 'layer']) {
  $(id).addEventListener('change', preview);
}
$('engine').addEventListener('change', changeEngine);
$('model-file').addEventListener('change', () => {
  const file = $('model-file').files[0];
  if (file) openModel('file', file);
});
$('compare').addEventListener('change', async () => {
  const id = $('compare').value;
  const run = id ? (await listRuns()).find((r) => r.id === id) : null;
  comparison = run?.summary ?? null;
  comparisonLabel = run ? `${run.config.task}, ${await client.request('condition', { config: run.config })}` : '';
  redraw();
});
$('transcript-item').addEventListener('change', () => {
  const item = current && allItems(current)[Number($('transcript-item').value)];
  if (item) transcript.show(item);
});
$('export-json').addEventListener('click', () => current && downloadJsonLines(current, allItems(current)));
$('export-csv').addEventListener('click', async () => {
  if (!current) return;
  const tables = await client.request('csv', { items: allItems(current), seed: current.config.seed });
  downloadCsv(current, tables);
});
$('share').addEventListener('click', async () => {
  try {
    const url = new URL(configToHash(readConfig()), location.href).href;
    await navigator.clipboard.writeText(url);
    $('run-status').textContent = 'link copied';
  } catch (e) {
    showError(`could not copy the link: ${e.message}`);
  }
});
window.addEventListener('resize', () => redraw());

start();
