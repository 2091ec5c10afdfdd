// End to end: the served lab page in Debian's Chromium, on the real default model.
// `node --test tests/e2e/` after `cargo build --release -p sclab-cli` and `scripts/build-wasm`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = new URL('../../', import.meta.url).pathname;
const SCREENSHOT = join(ROOT, 'docs/lab-screenshot.png');
const RUN_TIMEOUT = 10 * 60_000;
const XSS = '<img src=x onerror="window.__xss = 1">';

let server;
let browser;
let context;
let base;
let profile;

function freePort() {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForServer(url, child) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`sclab serve exited with ${child.exitCode}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('sclab serve did not answer');
}

/** A page that records every console error and uncaught exception. */
async function openPage() {
  const page = await context.newPage();
  page.errors = [];
  page.on('console', (m) => m.type() === 'error' && page.errors.push(m.text()));
  page.on('pageerror', (e) => page.errors.push(e.message));
  await page.goto(base);
  await page.waitForFunction(() => document.getElementById('model-status').textContent.startsWith('Ready'), null, {
    timeout: RUN_TIMEOUT,
  });
  return page;
}

async function runAndWait(page) {
  await page.click('#run');
  await page.waitForFunction(() => /^run (done|cancelled|error)/.test(document.getElementById('run-status').textContent), null, {
    timeout: RUN_TIMEOUT,
  });
  assert.equal(await page.textContent('#run-status'), 'run done', await page.textContent('#config-error'));
}

/** The results header's model of the run stored in the page's IndexedDB for `prompt`. */
const storedModel = (page, prompt) =>
  page.evaluate(async (prompt) => {
    const open = indexedDB.open('sclab', 1);
    const db = await new Promise((r) => (open.onsuccess = () => r(open.result)));
    const store = db.transaction('runs').objectStore('runs');
    const runs = await new Promise((r) => (store.getAll().onsuccess = (e) => r(e.target.result)));
    return runs.find((r) => r.config.prompt === prompt).header.model;
  }, prompt);

const points = (page, selector) => page.$eval(selector, (e) => JSON.parse(e.dataset.points));

before(async () => {
  // The opt-in second model, so that `sclab serve` stages it beside the default one.
  execFileSync(join(ROOT, 'target/release/sclab'), ['assets', '--model', 'qwen2.5-coder-0.5b'], { stdio: 'inherit' });
  const port = await freePort();
  base = `http://127.0.0.1:${port}/`;
  server = spawn(join(ROOT, 'target/release/sclab'), ['serve', '--port', String(port), '--root', ROOT], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForServer(base, server);
  profile = mkdtempSync(join(tmpdir(), 'sclab-e2e-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});

after(async () => {
  await context?.close();
  server?.kill();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('three rounds of rtp with K=2 chart, stream, persist and work offline', async () => {
  const page = await openPage();
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'the server isolates the page');
  // The task menu and the settings' bounds come from Rust's vocabulary.
  const tasks = await page.$$eval('#task option', (options) => options.map((o) => [o.value, o.textContent]));
  assert.equal(tasks.length, 7);
  assert.deepEqual(tasks.find(([id]) => id === 'jailbreak'), ['jailbreak', 'Jailbreak defence — paper (adapted)']);
  const bounds = (id) => page.$eval(id, (e) => [e.min, e.max]);
  assert.deepEqual(await bounds('#rounds'), ['1', '50']);
  assert.deepEqual([await bounds('#limit'), await bounds('#temperature'), await bounds('#max-tokens')], [['1', '500'], ['0', '2'], ['1', '512']]);
  await page.selectOption('#task', 'rtp');
  await page.fill('#rounds', '3');
  await page.fill('#samples', '2');
  // Shorter than the paper's 125 tokens, to keep the suite quick on two cores.
  await page.fill('#max-tokens', '48');
  await runAndWait(page);

  for (const chart of ['#chart-toxicity', '#chart-concept', '#chart-entropy', '#chart-task']) {
    const series = await points(page, chart);
    assert.ok(Object.keys(series).length > 0, `${chart} draws something`);
    for (const [name, n] of Object.entries(series)) assert.equal(n, 3, `${chart} ${name}`);
  }
  assert.deepEqual(await points(page, '#heatmap'), { rounds: 3, layers: 30 });
  // Where the run's time went, as the page's User Timing measures (web/timing.js).
  const parts = new Set(await page.evaluate(() => performance.getEntriesByType('measure').map((m) => m.name)));
  for (const part of ['prefill', 'samples', 'answer', 'clustering', 'stream', 'summary', 'transcript', 'draw', 'persist']) {
    assert.ok(parts.has(`sclab:${part}`), `the page measured ${part}`);
  }
  assert.equal(await page.locator('#transcript .round').count(), 3);
  assert.equal(await page.locator('#transcript .round.streaming').count(), 0);
  assert.match(await page.textContent('#transcript .round[data-round="2"] .user'), /less toxic/);
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  assert.deepEqual(page.errors, []);

  // The export is a results file that the command line reads: `sclab report` turns it into a report.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
  const results = join(profile, 'export.jsonl');
  await download.saveAs(results);
  const lines = readFileSync(results, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines[0].type, 'header');
  assert.equal(lines[0].schema, 'sclab-results');
  assert.equal(lines[0].model.name, 'SmolLM2-135M-Instruct.Q8_0.gguf');
  assert.deepEqual(lines.slice(1).map((l) => [l.type, l.rounds.length]), [['item', 3]]);
  execFileSync(join(ROOT, 'target/release/sclab'), ['report', results, '--out', join(profile, 'report')]);
  assert.match(readFileSync(join(profile, 'report/rounds.csv'), 'utf8'), /^toxicity,3,/m);
  const csv = [];
  page.on('download', (d) => csv.push(d.suggestedFilename()));
  await page.click('#export-csv');
  for (let i = 0; i < 50 && csv.length < 5; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(
    csv.map((n) => n.replace(/^.*-/, '')).sort(),
    ['answers.csv', 'calibration.csv', 'comparisons.csv', 'items.csv', 'rounds.csv'],
  );

  // A reload loses nothing: the run is in IndexedDB and on screen again.
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#runs li').length === 1);
  assert.match(await page.textContent('#runs li'), /rtp · 1 item, 3 rounds · done/);
  assert.equal(await page.locator('#transcript .round').count(), 3);
  assert.deepEqual(await points(page, '#chart-toxicity'), { toxicity: 3 });

  // The link carries the configuration.
  const hash = await page.evaluate(() => location.hash);
  const config = JSON.parse(Buffer.from(hash.slice('#config='.length), 'base64url').toString());
  assert.equal(config.rounds, 3);
  assert.equal(config.samples, 2);

  // Offline: the service worker serves the page, the Cache API the model.
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null);
  await page.reload();
  await page.waitForFunction(() => document.getElementById('model-status').textContent.startsWith('Ready'));
  await context.setOffline(true);
  await page.reload();
  await page.waitForFunction(() => document.getElementById('model-status').textContent.startsWith('Ready'), null, {
    timeout: 120_000,
  });
  await context.setOffline(false);
  assert.deepEqual(page.errors.filter((e) => !e.includes('ERR_INTERNET_DISCONNECTED')), []);
  await page.close();
});

test('text from the model or the visitor is shown as text, never run as HTML', async () => {
  const page = await openPage();
  await page.selectOption('#task', 'custom');
  await page.fill('#prompt', `Repeat exactly: ${XSS}`);
  await page.fill('#rounds', '1');
  await page.fill('#samples', '0');
  await page.fill('#max-tokens', '24');
  await runAndWait(page);
  // A stored run whose model answer is the payload, as a hostile model would write it.
  await page.evaluate(async (payload) => {
    const open = indexedDB.open('sclab', 1);
    const db = await new Promise((r) => (open.onsuccess = () => r(open.result)));
    const store = db.transaction('runs', 'readwrite').objectStore('runs');
    const runs = await new Promise((r) => (store.getAll().onsuccess = (e) => r(e.target.result)));
    const run = runs.find((r) => r.config.task === 'custom');
    run.id = 'hostile';
    run.created = '2999-01-01T00:00:00.000Z';
    run.items[0].rounds[0].answer = payload;
    run.items[0].rounds[0].samples = [{ text: payload, tokens: 9, log_prob: -1, cluster: 0 }];
    await new Promise((r) => (db.transaction('runs', 'readwrite').objectStore('runs').put(run).onsuccess = r));
  }, XSS);
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#transcript .round').length === 1);
  assert.match(await page.textContent('#transcript .round .answer'), /<img src=x onerror=/);
  assert.equal(await page.locator('#transcript img').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  await page.close();
});

test('the model runs on WebGPU when chosen, and auto leaves a software adapter to the CPU', async () => {
  const page = await openPage();
  const engine = () => page.textContent('#info-backend');
  // Chromium's WebGPU here is SwiftShader: a software adapter, slower than the wasm engine.
  assert.match(await engine(), /^CPU \(wasm SIMD\); the only GPU adapter is a software one/);
  await page.selectOption('#engine', 'gpu');
  await page.waitForFunction(() => document.getElementById('info-backend').textContent.startsWith('WebGPU on'), null, {
    timeout: RUN_TIMEOUT,
  });
  await page.selectOption('#task', 'custom');
  await page.fill('#prompt', 'Name a fruit.');
  await page.fill('#rounds', '1');
  await page.fill('#samples', '0');
  await page.fill('#max-tokens', '6');
  await runAndWait(page);
  assert.equal(await page.locator('#transcript .round').count(), 1);
  const { backend } = await storedModel(page, 'Name a fruit.');
  assert.equal(backend, 'gpu', 'the results header records the engine');
  await page.selectOption('#engine', 'auto');
  await page.waitForFunction(() => document.getElementById('info-backend').textContent.startsWith('CPU'), null, {
    timeout: RUN_TIMEOUT,
  });
  assert.deepEqual(page.errors, []);
  await page.close();
});

test('a damaged shared link and bad model files are explained, and the lab keeps working', async () => {
  const page = await context.newPage();
  page.errors = [];
  await page.goto(`${base}#config=bm90IGpzb24`);
  await page.waitForFunction(() => !document.getElementById('link-error').hidden, null, { timeout: 120_000 });
  assert.match(await page.textContent('#link-error'), /could not be used/);
  await page.waitForFunction(() => document.getElementById('model-status').textContent.startsWith('Ready'));
  await page.waitForFunction(() => document.getElementById('items-preview').textContent !== '');
  assert.equal(await page.isVisible('#link-error'), true, 'the explanation outlives the preview');
  await page.setInputFiles('#model-file', { name: 'broken.gguf', mimeType: 'application/octet-stream', buffer: Buffer.from('GGUF broken') });
  await page.waitForFunction(() => document.getElementById('notice').textContent.startsWith('Could not load'));
  assert.match(await page.textContent('#notice'), /broken\.gguf/);
  // The default model comes back, and the lab runs on it.
  await page.waitForFunction(
    () => !document.getElementById('run').disabled && document.getElementById('model-status').textContent.startsWith('Ready'),
    null,
    { timeout: 120_000 },
  );
  assert.match(await page.textContent('#info-name'), /^SmolLM2/);
  // A header that claims a tensor of 2^40 bytes is refused before anything is allocated: the
  // worker survives, says why, and the default model comes back again.
  await page.setInputFiles('#model-file', { name: 'huge.gguf', mimeType: 'application/octet-stream', buffer: hugeTensorGguf() });
  await page.waitForFunction(() => document.getElementById('notice').textContent.includes('huge.gguf'));
  assert.match(await page.textContent('#notice'), /tensor `token_embd\.weight` claims shape \[274877906944\], more than this engine can address/);
  await page.waitForFunction(
    () => !document.getElementById('run').disabled && document.getElementById('model-status').textContent.startsWith('Ready'),
    null,
    { timeout: 120_000 },
  );
  assert.match(await page.textContent('#info-name'), /^SmolLM2/);
  await page.close();
});

test('an installed second model is offered beside the default, runs, and is named in the results', async () => {
  const page = await openPage();
  const choices = await page.$$eval('#model-choice option', (options) => options.map((o) => [o.value, o.textContent]));
  assert.deepEqual(choices, [
    ['smollm2-135m', 'SmolLM2-135M-Instruct, Q8_0 — 138 MiB'],
    ['qwen2.5-coder-0.5b', 'Qwen2.5-Coder-0.5B-Instruct, Q4_K_M mix — 469 MiB'],
  ]);
  // Every status shown while the second model loads: none may call the first one ready.
  await page.evaluate(() => {
    const status = document.getElementById('model-status');
    window.statusesSeen = [];
    new MutationObserver(() => window.statusesSeen.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
  });
  await page.selectOption('#model-choice', 'qwen2.5-coder-0.5b');
  await page.waitForFunction(() => document.getElementById('model-status').textContent.startsWith('Ready: Qwen'), null, {
    timeout: RUN_TIMEOUT,
  });
  const seen = await page.evaluate(() => window.statusesSeen);
  assert.deepEqual(seen.filter((s) => s.startsWith('Ready')), ['Ready: Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf']);
  assert.match(await page.textContent('#info-shape'), /^qwen2, 24 layers, hidden 896/);
  assert.match(await page.textContent('#info-licence'), /upstream model is Apache-2\.0/);
  await page.selectOption('#task', 'custom');
  await page.fill('#prompt', 'Name a colour.');
  await page.fill('#rounds', '1');
  await page.fill('#samples', '0');
  await page.fill('#max-tokens', '8');
  await runAndWait(page);
  const model = await storedModel(page, 'Name a colour.');
  assert.equal(model.name, 'Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf');
  assert.equal(model.sha256, '1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32');
  // Back to the default model, which the page remembers for the next visit.
  await page.selectOption('#model-choice', 'smollm2-135m');
  await page.waitForFunction(() => document.getElementById('model-status').textContent.startsWith('Ready: SmolLM2'), null, {
    timeout: RUN_TIMEOUT,
  });
  assert.deepEqual(page.errors, []);
  await page.close();
});

/** A GGUF (version 3) whose one tensor claims 2^38 F32 elements, 2^40 bytes, in a file of 600. */
function hugeTensorGguf() {
  const name = Buffer.from('token_embd.weight');
  const header = Buffer.alloc(32);
  header.write('GGUF', 0);
  header.writeUInt32LE(3, 4);
  header.writeBigUInt64LE(1n, 8); // tensors
  header.writeBigUInt64LE(0n, 16); // metadata entries
  header.writeBigUInt64LE(BigInt(name.length), 24);
  const tensor = Buffer.alloc(24);
  tensor.writeUInt32LE(1, 0); // dimensions
  tensor.writeBigUInt64LE(1n << 38n, 4);
  tensor.writeUInt32LE(0, 12); // F32
  tensor.writeBigUInt64LE(0n, 16); // offset
  return Buffer.concat([header, name, tensor, Buffer.alloc(529)]);
}

test('the vendored uPlot is the pinned npm release', () => {
  for (const file of ['uPlot.esm.js', 'uPlot.min.css']) {
    const vendored = readFileSync(join(ROOT, 'web/vendor/uplot', file));
    assert.ok(vendored.equals(readFileSync(join(ROOT, 'node_modules/uplot/dist', file))), file);
  }
});
