// The lab page's wiring: the engine worker, the form and its buttons, starting and cancelling
// runs, loading models. State lives in state.js, the worker's events go through dispatch.js,
// and what the page shows is drawn by views.js.

import { LabClient } from './lab-client.js';
import { readConfig, writeConfig, showTaskFields, configToHash, configFromHash } from './controls.js';
import { listRuns } from './store.js';
import { downloadJsonLines, downloadCsv } from './export.js';
import { clearTimings } from './timing.js';
import { state, persist, newRun, allItems, label } from './state.js';
import { onEvent } from './dispatch.js';
import {
  buildFromVocabulary, redraw, showRun, refreshRuns, showStatus, showModel, showEngine, showRunning, showError, showNotice,
  transcript,
} from './views.js';

const $ = (id) => document.getElementById(id);
const client = new LabClient({ onEvent, onStatus: showStatus });

async function loadDefaults(task) {
  const config = await client.request('defaults', { task });
  writeConfig({ ...config, limit: 1 });
}

let previews = 0;

/** The items the settings select, and the task's headline, under the form. */
async function preview() {
  if (!state.modelInfo || state.running) return;
  const ticket = ++previews;
  try {
    const config = readConfig();
    history.replaceState(null, '', configToHash(config));
    const needs = await client.request('needs', { config });
    const items = await client.request('items', { config });
    if (ticket !== previews || state.running) return; // settings changed, or a run began, meanwhile
    const first = items[0]?.query ?? '';
    $('items-preview').textContent = `${items.length} item${items.length === 1 ? '' : 's'}; the first: ${first.slice(0, 240)}${first.length > 240 ? '…' : ''}`;
    $('task-caption').textContent = `Task performance (headline: ${label(needs.headline)})`;
    showError('');
  } catch (e) {
    if (ticket === previews && !state.running) showError(e.message);
  }
}

function setRunning(on) {
  state.running = on;
  showRunning();
}

async function run(event) {
  event.preventDefault();
  if (state.running) return;
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
  state.current = newRun(config, needs.headline);
  transcript.clear();
  clearTimings();
  redraw();
  setRunning(true);
  previews++;
  persist();
  try {
    await client.run(config);
  } catch (e) {
    const { current } = state;
    if (current.status === 'running') current.status = e.message === 'cancelled' ? 'cancelled' : 'error';
    if (e.message !== 'cancelled') showError(e.message);
    if (current.status === 'cancelled' && !state.modelInfo.reopened) await reopen();
  } finally {
    // "run done" only once the run is stored.
    await persist();
    setRunning(false);
    refreshRuns();
    preview();
  }
}

/** After a hard cancel (no shared flag) the fresh worker needs the model again. */
async function reopen() {
  const { modelInfo } = state;
  const info = await client.request('open', { ...modelInfo.choice, engine: $('engine').value });
  state.modelInfo = { ...modelInfo, ...info };
}

async function changeEngine() {
  localStorage.setItem('sclab-engine', $('engine').value);
  if (!state.modelInfo || state.running) return;
  $('run').disabled = true;
  try {
    const info = await client.request('engine', { engine: $('engine').value });
    state.modelInfo = { ...state.modelInfo, ...info };
    showEngine(info);
  } catch (e) {
    showNotice(`Could not change the engine: ${e.message}`);
  } finally {
    $('run').disabled = state.running || !state.modelInfo;
  }
}

/** The staged models in the selector, and the visitor's own file once one is loaded. */
async function fillModels() {
  // Not staged: the selector stays empty and opening the default model says why.
  state.models = await client.request('models', {}).catch(() => []);
  const options = state.models.map(({ id, description, bytes }) => new Option(`${description} — ${(bytes / 2 ** 20).toFixed(0)} MiB`, id));
  $('model-choice').replaceChildren(...options);
}

/** Show `choice` in the selector: a staged model, or an entry for the visitor's file. */
function showChoice(choice) {
  $('model-choice').querySelector('option[value=""]')?.remove();
  if (choice.source === 'file') $('model-choice').add(new Option(`Your own: ${choice.file.name}`, ''));
  $('model-choice').value = choice.source === 'file' ? '' : choice.model;
}

/** Load a staged model (`{source: 'staged', model: id}`) or the visitor's file (`{source: 'file', file}`). */
async function openModel(choice) {
  $('run').disabled = true;
  // One model at a time: the engine frees the loaded one to make room for the next.
  for (const id of ['model-choice', 'model-file']) $(id).disabled = true;
  const previous = state.modelInfo;
  // The engine lets go of the previous model first: nothing is ready until the new one is.
  state.modelInfo = null;
  const staged = state.models.find((m) => m.id === choice.model);
  try {
    const info = await client.request('open', { ...choice, engine: $('engine').value });
    state.modelInfo = { ...info, choice };
    showChoice(choice);
    showModel(info, staged?.licence ?? "your file's own terms");
    if (staged) localStorage.setItem('sclab-model', staged.id);
    showNotice(info.isolated ? '' : 'This page is not cross-origin isolated, so Cancel restarts the engine.');
    $('run').disabled = state.running;
    preview();
  } catch (e) {
    const name = choice.file?.name ?? staged?.description ?? 'the model';
    $('model-status').textContent = `Could not load ${name}.`;
    showNotice(`Could not load ${name}: ${e.message}`);
    // The engine let go of the previous model to make room; take it back (once).
    if (previous && previous.choice !== choice) await openModel(previous.choice);
  } finally {
    for (const id of ['model-choice', 'model-file']) $(id).disabled = state.running;
  }
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
  state.vocabulary = await client.request('vocabulary', {});
  buildFromVocabulary();
  await loadDefaults(shared?.task ?? 'rtp');
  if (shared) writeConfig(shared);
  const runs = await refreshRuns();
  if (runs.length) showRun(runs[0]);
  else redraw();
  $('engine').value = localStorage.getItem('sclab-engine') ?? 'auto';
  await fillModels();
  const saved = localStorage.getItem('sclab-model');
  openModel({ source: 'staged', model: state.models.some((m) => m.id === saved) ? saved : state.models[0]?.id });
}

$('controls').addEventListener('submit', run);
$('cancel').addEventListener('click', () => {
  $('run-status').textContent = 'cancelling…';
  if (client.cancel()) state.current.status = 'cancelled';
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
  if (file) openModel({ source: 'file', file });
});
$('model-choice').addEventListener('change', () => {
  const id = $('model-choice').value;
  if (id && !state.running) openModel({ source: 'staged', model: id });
});
$('compare').addEventListener('change', async () => {
  const id = $('compare').value;
  const other = id ? (await listRuns()).find((r) => r.id === id) : null;
  state.comparison = other?.summary ?? null;
  state.comparisonLabel = other ? `${other.config.task}, ${await client.request('condition', { config: other.config })}` : '';
  redraw();
});
$('transcript-item').addEventListener('change', () => {
  const item = state.current && allItems(state.current)[Number($('transcript-item').value)];
  if (item) transcript.show(item);
});
$('export-json').addEventListener('click', () => state.current && downloadJsonLines(state.current, allItems(state.current)));
$('export-csv').addEventListener('click', async () => {
  const { current } = state;
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
