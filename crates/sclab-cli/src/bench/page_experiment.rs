//! `sclab bench --browser --experiment`: the benchmark's experiment (bench/experiment.rs) run
//! natively with every measurement, as `sclab run` does, and in the lab page itself, in headless
//! Chromium on the wasm CPU engine, in one run; with where each one's time goes. The page's
//! parts are its `sclab:` User Timing measures (web/timing.js).

use std::path::Path;

use anyhow::{bail, Context};
use serde::Serialize;
use serde_json::json;

use super::experiment::Bench;
use super::headless::{self, Step};
use crate::model_choice::ModelArgs;

/// The worker's part measured inside its decoding phases: shown, not added to the sum.
const NESTED: &str = "stream";
/// The page's own parts, on its main thread while the worker computes: shown, not added.
const MAIN_THREAD: [&str; 3] = ["transcript", "draw", "persist"];

#[derive(Serialize)]
pub struct PageExperimentBench {
    pub date: String,
    pub machine: String,
    pub browser: String,
    pub item: String,
    pub rounds: usize,
    pub samples: usize,
    pub native_s: f64,
    /// From the click on Run to "run done".
    pub page_s: f64,
    /// page / native.
    pub ratio: f64,
    /// Seconds per phase (`Phase::name`).
    pub native: Vec<(String, f64)>,
    /// Seconds per part: the worker's phases, `stream` and `summary` (its `timing` events), and
    /// the page's `transcript`, `draw` and `persist`.
    pub page: Vec<(String, f64)>,
    /// The page's engine line.
    pub engine: String,
}

/// Waits for the model, runs the experiment once with one round (the datasets, the embedder
/// and the concept directions load then), clears the measures, and runs it for real.
const PAGE_SCRIPT: &str = r#"
const { rounds } = arg;
const $ = (id) => document.getElementById(id);
const until = async (test, what) => {
  const end = performance.now() + 30 * 60e3;
  while (!test()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};
await until(() => $('model-status').textContent.startsWith('Ready'), 'the model');
const run = async (n) => {
  $('rounds').value = String(n);
  $('run-status').textContent = '';
  const start = performance.now();
  $('run').click();
  await until(() => /^run (done|cancelled|error)/.test($('run-status').textContent), 'the run');
  const ms = performance.now() - start;
  if ($('run-status').textContent !== 'run done') throw new Error(`${$('run-status').textContent}: ${$('config-error').textContent}`);
  return ms;
};
await run(1);
const wall_ms = await run(rounds);
const parts = {};
for (const m of performance.getEntriesByType('measure')) {
  if (m.name.startsWith('sclab:')) parts[m.name.slice(6)] = (parts[m.name.slice(6)] ?? 0) + m.duration;
}
return { wall_ms, parts, engine: $('info-backend').textContent, model: $('info-name').textContent, item: $('transcript-item').value === '0' ? $('transcript-item').selectedOptions[0].textContent : '', user_agent: navigator.userAgent };
"#;

/// The page reads its settings from `#config=` (base64url JSON, web/controls.js); the CPU engine.
pub(super) const HASH_SCRIPT: &str = "localStorage.setItem('sclab-engine', 'cpu');\
    const bytes = new TextEncoder().encode(JSON.stringify(arg));\
    return btoa(String.fromCodePoint(...bytes)).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');";

pub fn measure(root: &Path, model: &ModelArgs) -> anyhow::Result<PageExperimentBench> {
    let root = root.canonicalize()?;
    if !root.join("pkg/sclab_web_bg.wasm").exists() {
        bail!("pkg/ is missing: run ./scripts/build-wasm first");
    }
    let mut bench = Bench::open(model)?;
    let (native_s, phases) = bench.end_to_end()?;
    let native = phases.into_iter().map(|(phase, s)| (phase.to_owned(), s)).collect();

    crate::serve::stage(&root)?;
    let (_server, port) = headless::serve(crate::serve::app(&root))?;
    let base = format!("http://127.0.0.1:{port}");
    let raw = headless::drive(
        &root,
        &[
            // A page of the lab's origin that loads no model, to choose the CPU engine first.
            Step {
                url: Some(format!("{base}/bench.html")),
                upload: None,
                script: HASH_SCRIPT,
                arg: json!(&bench.config),
            },
            Step {
                url: Some(format!("{base}/#config=${{previous}}")),
                upload: None,
                script: PAGE_SCRIPT,
                arg: json!({ "rounds": bench.config.rounds }),
            },
        ],
    )?;

    // The page runs the staged default model: natively it must be the same file and item.
    let item = raw["item"].as_str().unwrap_or_default();
    if !item.ends_with(&bench.item.id) {
        bail!("the page ran item {item:?}, natively it was {}", bench.item.id);
    }
    let page_model = raw["model"].as_str().unwrap_or_default();
    if !page_model.contains(&format!("sha256 {}", &bench.model_sha256()[..12])) {
        bail!("the page ran {page_model:?}, natively it was the file with sha256 {}", bench.model_sha256());
    }
    let page_s = raw["wall_ms"].as_f64().context("no wall_ms in the page's answer")? / 1e3;
    let parts = raw["parts"].as_object().context("no parts in the page's answer")?;
    let page = parts.iter().map(|(name, ms)| (name.clone(), ms.as_f64().unwrap_or_default() / 1e3)).collect();
    Ok(PageExperimentBench {
        date: super::today(),
        machine: super::machine_name(),
        browser: headless::browser_name(&raw),
        item: bench.item.id.clone(),
        rounds: bench.config.rounds,
        samples: bench.config.samples,
        native_s,
        page_s,
        ratio: page_s / native_s,
        native,
        page,
        engine: raw["engine"].as_str().unwrap_or_default().to_owned(),
    })
}

pub fn markdown(b: &PageExperimentBench) -> String {
    let seconds = |parts: &[(String, f64)], name: &str| parts.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
    let mut names: Vec<&str> = b.native.iter().map(|(n, _)| n.as_str()).collect();
    let page_only = b.page.iter().map(|(n, _)| n.as_str()).filter(|n| !names.contains(n) && !MAIN_THREAD.contains(n));
    names.extend(page_only.collect::<Vec<_>>());
    names.extend(MAIN_THREAD);
    let cell = |s: Option<f64>| s.map_or("—".to_owned(), |s| format!("{s:.2}"));
    let mut rows = String::new();
    for name in names {
        let (native, page) = (seconds(&b.native, name), seconds(&b.page, name));
        // A ratio of hundredths of a second says nothing.
        let ratio = match (native, page) {
            (Some(n), Some(p)) if n >= 0.01 && p >= 0.01 => format!("{:.1}×", p / n),
            _ => "—".into(),
        };
        let label = match name {
            NESTED => format!("{name} (inside samples and answer)"),
            _ if MAIN_THREAD.contains(&name) => format!("{name} (page's main thread, alongside the worker)"),
            _ => name.to_owned(),
        };
        rows.push_str(&format!("| {label} | {} | {} | {ratio} |\n", cell(native), cell(page)));
    }
    let counted = |parts: &[(String, f64)]| -> f64 {
        let added = |n: &str| n != NESTED && !MAIN_THREAD.contains(&n);
        parts.iter().filter(|(n, _)| added(n)).map(|(_, s)| s).sum()
    };
    format!(
        "## {date} — browser experiment, {machine}\n\n`sclab bench --browser --experiment`: one `rtp` item ({item}) × \
{rounds} rounds × K = {samples}, every measurement, natively (`sclab run`'s way) and in the lab page in {browser} \
({engine}), in one run. Seconds per part:\n\n\
| part | native | page | page / native |\n|---|---|---|---|\n{rows}\
| the rest (between the parts) | {native_rest:.2} | {page_rest:.2} | |\n\
| **the item** | **{native_s:.2}** | **{page_s:.2}** | **{ratio:.2}×** |\n",
        date = b.date,
        machine = b.machine,
        item = b.item,
        rounds = b.rounds,
        samples = b.samples,
        browser = b.browser,
        engine = b.engine,
        native_rest = b.native_s - counted(&b.native),
        page_rest = b.page_s - counted(&b.page),
        native_s = b.native_s,
        page_s = b.page_s,
        ratio = b.ratio,
    )
}
