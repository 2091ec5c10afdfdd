// The lab's engine thread: loads the wasm build, the model and the instruments, and runs
// experiments, forwarding every event to the page. Requests carry an `id`; the answer is
// `{id, ok, value | error}`; run events arrive as `{event}` and status lines as `{status}`.

import init, { WebLab, default_config, csv_tables, vocabulary, condition } from './pkg/sclab_web.js';
import { cachedBlob, cachedBytes, cachedText, remember, recall } from './assets.js';

let lab = null;
let manifest = null;
const ready = init();

/** A status line; with `total`, progress in bytes, or in `unit`s when one is named. */
const status = (text, done = null, total = null, unit = null) => postMessage({ status: { text, done, total, unit } });

async function getManifest() {
  if (!manifest) {
    const response = await fetch('./static/assets/manifest.json', { cache: 'no-cache' }).catch(() => null);
    if (response?.ok) {
      manifest = await response.json();
    } else {
      // Offline: the copy kept from the last visit.
      const kept = await recall('manifest');
      if (!kept) throw new Error('the lab assets are not staged on this server (run `sclab serve`)');
      manifest = JSON.parse(kept);
    }
    await remember('manifest', JSON.stringify(manifest));
  }
  return manifest;
}

/**
 * Move the model to the engine the page asks for (a failure leaves it where it was): the lab's
 * info, with why it is not on the GPU when it is not.
 */
async function place(engine) {
  let reason;
  try {
    reason = (await lab.use_backend(engine)).reason;
  } catch (error) {
    reason = String(error?.message ?? error);
  }
  return { ...lab.info(), reason };
}

/** The models staged on this server, for the page's selector (the first is the default). */
async function models() {
  const m = await getManifest();
  return m.models.map(({ id, description, bytes, licence }) => ({ id, description, bytes, licence }));
}

async function open({ source, model: wanted, file, engine }) {
  await ready;
  const m = await getManifest();
  const classifier = await Promise.all([
    cachedBytes(m.classifier.weights),
    cachedBytes(m.classifier.vocab),
  ]);
  let blob;
  let name;
  if (source === 'file') {
    blob = file;
    name = file.name;
  } else {
    const model = m.models.find((staged) => staged.id === wanted) ?? m.models[0];
    name = model.name;
    blob = await cachedBlob(model.url, (done, total) => status(`downloading ${name}`, done, total || model.bytes));
  }
  status(`reading ${name}`);
  if (lab) lab.free();
  lab = null;
  loadedDatasets.clear();
  lab = WebLab.load(blob, name, classifier[0], classifier[1], (done, total) => status(`checking ${name}`, done, total));
  status(engine === 'cpu' ? '' : 'looking for a WebGPU adapter');
  const info = await place(engine);
  status('');
  return { ...info, isolated: self.crossOriginIsolated };
}

const loadedDatasets = new Set();

/** Hand the lab the datasets `config` draws its items and contrast texts from. */
async function addDatasets(config) {
  const m = await getManifest();
  const needs = WebLab.needs(config);
  for (const name of needs.datasets.filter((n) => !loadedDatasets.has(n))) {
    const url = m.datasets[name];
    if (!url) throw new Error(`dataset ${name} is not staged on this server`);
    lab.add_dataset(name, await cachedText(url));
    loadedDatasets.add(name);
  }
  return needs;
}

/** Hand the lab everything `config` needs: datasets, the embedder, the concept directions. */
async function prepare(config) {
  const m = await getManifest();
  const needs = await addDatasets(config);
  if (needs.embedder && !lab.has_embedder()) {
    const e = m.embedder;
    const weights = await cachedBytes(e.weights, (done, total) => status('downloading the sentence embedder', done, total || e.bytes));
    lab.set_embedder(await cachedBytes(e.config), await cachedBytes(e.tokenizer), weights);
  }
  // Rust keys the concept by the model file, the concept, the answer prefix it is read at and
  // the measuring code's version (`concept::cache_key`): a stale direction is never reused.
  await lab.ensure_concept(
    config,
    (key) => (m.concepts[key] ? cachedText(m.concepts[key]) : recall(`concept-${key}`)),
    (key, json) => remember(`concept-${key}`, json),
    (done, total) =>
      status(`measuring the ${needs.concept} concept on this model (once per model and task format)`, done, total, 'texts'),
  );
  status('');
  return needs;
}

async function run({ config, cancel }) {
  if (!lab) throw new Error('no model is loaded');
  await prepare(config);
  const flag = cancel ? new Int32Array(cancel) : undefined;
  return lab.run(config, (event) => postMessage({ event }), flag);
}

const handlers = {
  models,
  open,
  engine: async ({ engine }) => {
    if (!lab) throw new Error('no model is loaded');
    status(`moving the model to ${engine === 'cpu' ? 'the CPU' : 'WebGPU'}`);
    const info = await place(engine);
    status('');
    return info;
  },
  run,
  items: async ({ config }) => {
    if (!lab) throw new Error('no model is loaded');
    await addDatasets(config);
    return lab.items(config);
  },
  needs: async ({ config }) => {
    await ready;
    return WebLab.needs(config);
  },
  defaults: async ({ task }) => {
    await ready;
    return default_config(task);
  },
  csv: async ({ items, seed }) => {
    await ready;
    return csv_tables(items, BigInt(seed));
  },
  bench: async ({ prompt, steps, batch }) => {
    if (!lab) throw new Error('no model is loaded');
    return lab.bench(prompt, steps, batch);
  },
  condition: async ({ config }) => {
    await ready;
    return condition(config);
  },
  vocabulary: async () => {
    await ready;
    return vocabulary();
  },
};

onmessage = async ({ data }) => {
  const { id, type } = data;
  try {
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown request ${type}`);
    postMessage({ id, ok: true, value: await handler(data) });
  } catch (error) {
    status('');
    postMessage({ id, ok: false, error: String(error?.message ?? error) });
  }
};
