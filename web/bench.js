// `sclab bench --browser` calls `sclabBench` here: the lab's engine (in its worker) and wllama
// (llama.cpp compiled to wasm, single-threaded) on the same GGUF file, in the same browser.

import { LabClient } from './lab-client.js';

async function ours(prompt, steps, batch, model) {
  const client = new LabClient({ onEvent() {}, onStatus() {} });
  const info = await client.request('open', { source: 'staged', model });
  await client.request('bench', { prompt, steps: 8, batch: 1 }); // warm-up
  const single = await client.request('bench', { prompt, steps, batch: 1 });
  const batched = await client.request('bench', { prompt, steps, batch });
  client.worker.terminate();
  return { info, single, batched };
}

async function wllama(prompt, steps, base, modelUrl) {
  const { Wllama } = await import(`${base}/index.js`);
  const engine = new Wllama({ default: `${base}/wasm/wllama.wasm` }, { suppressNativeLog: true });
  const blob = await (await fetch(modelUrl)).blob();
  await engine.loadModel([blob], { n_threads: 1, n_ctx: 2048, n_gpu_layers: 0 });
  const options = { prompt, max_tokens: steps, temperature: 0, ignore_eos: true, cache_prompt: false };
  await engine.createCompletion({ ...options, max_tokens: 8 }); // warm-up
  const started = performance.now();
  const result = await engine.createCompletion(options);
  const wall = performance.now() - started;
  const threads = engine.getNumThreads();
  await engine.exit();
  return { timings: result.timings, usage: result.usage, wall_ms: wall, threads };
}

window.sclabBench = async ({ prompt, steps, batch, wllamaBase, model }) => {
  const manifest = await (await fetch('./static/assets/manifest.json')).json();
  const staged = manifest.models.find((m) => m.id === model);
  if (!staged) throw new Error(`no staged model ${model}`);
  const result = {
    user_agent: navigator.userAgent,
    isolated: crossOriginIsolated,
    model: staged,
    ours: await ours(prompt, steps, batch, model),
    wllama: await wllama(prompt, steps, wllamaBase, staged.url),
  };
  document.getElementById('result').textContent = JSON.stringify(result, null, 2);
  return result;
};
