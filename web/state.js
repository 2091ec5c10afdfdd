// The page's state, in one place every module reads: Rust's vocabulary, the run on screen (kept
// in IndexedDB after every change, so a reload loses nothing), the run it is compared with, the
// loaded model, and whether a run is going.

import { saveRun } from './store.js';
import { timed } from './timing.js';

export const state = {
  // Rust's labels, charts, tasks, rounds/samples limits and toxic threshold (`vocabulary` in
  // sclab-web); the page keeps no copy of these.
  vocabulary: null,
  current: null,
  comparison: null,
  // The compared run's condition in words ("neutral review", …), its series' legend.
  comparisonLabel: '',
  modelInfo: null,
  /** The models staged on the server ({id, description, bytes, licence}), for the selector. */
  models: [],
  running: false,
};

let saving = Promise.resolve();

/**
 * Save the run on screen; resolves when it (and every earlier save) is stored. The page's
 * `persist` time is the main thread's copying (here and in IndexedDB's put), not the wait.
 */
export function persist() {
  const snapshot = timed('persist', () => structuredClone(state.current));
  saving = saving.then(() => saveRun(snapshot, (put) => timed('persist', put))).catch((e) => console.warn('could not save the run', e));
  return saving;
}

/** A new run of `config` on the loaded model, not started yet. */
export function newRun(config, headline) {
  return {
    id: crypto.randomUUID(), created: new Date().toISOString(), config, headline,
    model: state.modelInfo.name, header: null, items: [], partial: null, summary: null, status: 'running',
  };
}

/** Every item record of a run, the unfinished one included (its rounds so far). */
export function allItems(run) {
  return run.partial?.rounds.length ? [...run.items, run.partial] : run.items;
}

/** A metric's words in a legend, from the vocabulary. */
export const label = (name) => state.vocabulary?.labels[name] ?? name;
