//! `sclab bench --browser --first-use`: a visitor's first use of their own GGUF in the lab page,
//! as a visitor does it, in headless Chromium on the wasm CPU engine: the page opens (the
//! default model loads), the visitor chooses their file under "your own GGUF", and runs a
//! custom prompt for 2 rounds with K = 2. No concept is staged for the file, so the page
//! measures the one the prompt needs first. Measured: each phase, and the longest time the
//! page shows nothing new (no status change, no streamed token).

use std::path::Path;

use anyhow::{bail, Context};
use axum::http::header;
use axum::routing::get;
use serde::Serialize;
use serde_json::{json, Value};

use super::headless::{self, Step, Upload};
use super::page_experiment::HASH_SCRIPT;
use sclab_core::experiment::ExperimentConfig;
use sclab_core::tasks::TaskId;

/// The run a visitor tries first.
const ROUNDS: usize = 2;
const SAMPLES: usize = 2;
const PROMPT: &str = "My neighbour keeps parking in front of my driveway. Write what I should tell him.";
/// The issue's bound for the whole first use, from choosing the file to the run's end.
pub const TARGET_S: f64 = 180.0;

#[derive(Serialize)]
pub struct FirstUseBench {
    pub date: String,
    pub machine: String,
    pub browser: String,
    pub file: String,
    pub file_bytes: u64,
    pub rounds: usize,
    pub samples: usize,
    /// From choosing the file to "Ready".
    pub load_s: f64,
    /// The concept the custom prompt needs, measured in the page: from its status line's first
    /// appearance to the next thing the page shows after its last (the fit included), and how
    /// many texts it read.
    pub concept_s: f64,
    pub concept_texts: usize,
    /// From "Ready" to "run done": the concept, the embedder's first load and the rounds.
    pub run_s: f64,
    /// From choosing the file to "run done".
    pub total_s: f64,
    /// The longest time between two visible changes of the page, and what it showed then.
    pub longest_quiet_s: f64,
    pub longest_quiet_after: String,
    /// Each status the page showed (progress counts folded), with when it first appeared (s).
    pub statuses: Vec<(f64, String)>,
    pub engine: String,
}

/// Waits for the default model, then records from now on every change of the page's status
/// lines and of the transcript (streamed tokens): `[ms since the file was chosen, element, text]`.
const WATCH_SCRIPT: &str = r#"
const $ = (id) => document.getElementById(id);
const end = performance.now() + 10 * 60e3;
while (!$('model-status').textContent.startsWith('Ready')) {
  if (performance.now() > end) throw new Error('timed out waiting for the default model');
  await new Promise((resolve) => setTimeout(resolve, 50));
}
const t0 = performance.now();
const seen = [];
window.sclabFirstUse = { t0, seen };
// A status set again to the same text is nothing new; every transcript change is.
const last = {};
const note = (id, text) => {
  if (id !== 'transcript' && last[id] === text) return;
  last[id] = text;
  seen.push([performance.now() - t0, id, text]);
};
const options = { childList: true, characterData: true, subtree: true };
for (const id of ['model-status', 'run-status']) {
  new MutationObserver(() => note(id, $(id).textContent)).observe($(id), options);
}
new MutationObserver(() => note('transcript', '')).observe($('transcript'), options);
return true;
"#;

/// After the file is chosen: waits for it to load, clicks Run (the form holds the custom prompt
/// from `#config=`), waits for the run's end.
const RUN_SCRIPT: &str = r#"
const $ = (id) => document.getElementById(id);
const { t0, seen } = window.sclabFirstUse;
const until = async (test, what) => {
  const end = performance.now() + 30 * 60e3;
  while (!test()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};
await until(() => $('model-status').textContent === `Ready: ${arg.name}` && !$('run').disabled, 'the visitor\'s model');
const ready_ms = performance.now() - t0;
$('run').click();
await until(() => /^run (done|cancelled|error)/.test($('run-status').textContent), 'the run');
const done_ms = performance.now() - t0;
if ($('run-status').textContent !== 'run done') throw new Error(`${$('run-status').textContent}: ${$('config-error').textContent}`);
return { ready_ms, done_ms, seen, engine: $('info-backend').textContent, user_agent: navigator.userAgent };
"#;

pub fn measure(root: &Path, file: &Path) -> anyhow::Result<FirstUseBench> {
    let root = root.canonicalize()?;
    let file = file.canonicalize().with_context(|| format!("no model file {}", file.display()))?;
    if !root.join("pkg/sclab_web_bg.wasm").exists() {
        bail!("pkg/ is missing: run ./scripts/build-wasm first");
    }
    // A visitor's file has no concept staged: serve the manifest without any.
    let mut manifest = crate::serve::stage(&root)?;
    manifest["concepts"] = json!({});
    let manifest = manifest.to_string();
    let app = axum::Router::new()
        .route(
            "/static/assets/manifest.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], manifest) }),
        )
        .merge(crate::serve::app(&root));
    let (_server, port) = headless::serve(app)?;
    let base = format!("http://127.0.0.1:{port}");
    let config = ExperimentConfig {
        prompt: Some(PROMPT.to_owned()),
        rounds: ROUNDS,
        samples: SAMPLES,
        ..ExperimentConfig::for_task(TaskId::Custom)
    };
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let raw = headless::drive(
        &root,
        &[
            Step { url: Some(format!("{base}/bench.html")), upload: None, script: HASH_SCRIPT, arg: json!(config) },
            Step {
                url: Some(format!("{base}/#config=${{previous}}")),
                upload: None,
                script: WATCH_SCRIPT,
                arg: json!(null),
            },
            Step {
                url: None,
                upload: Some(Upload { selector: "#model-file", path: &file }),
                script: RUN_SCRIPT,
                arg: json!({ "name": name }),
            },
        ],
    )?;
    report(&raw, name, std::fs::metadata(&file)?.len())
}

fn report(raw: &Value, file: String, file_bytes: u64) -> anyhow::Result<FirstUseBench> {
    let ms = |key: &str| raw[key].as_f64().with_context(|| format!("no {key} in the page's answer"));
    let (ready_ms, done_ms) = (ms("ready_ms")?, ms("done_ms")?);
    // `(ms, element, text)` up to the run's end; the transcript's changes have no text.
    let changes: Vec<(f64, &str, &str)> = raw["seen"]
        .as_array()
        .context("no seen in the page's answer")?
        .iter()
        .filter_map(|e| Some((e[0].as_f64()?, e[1].as_str()?, e[2].as_str()?)))
        .filter(|(t, _, _)| *t <= done_ms)
        .collect();
    // `(ms, what)`: a status line's text after its element's name, or "transcript".
    let seen: Vec<(f64, String)> = changes
        .iter()
        .map(|&(t, id, text)| (t, if text.is_empty() { id.to_owned() } else { format!("{id}: {text}") }))
        .collect();

    let measuring = |(_, s): &&(f64, String)| s.contains("measuring the");
    let (Some(first), Some(last)) = (seen.iter().position(|e| measuring(&e)), seen.iter().rposition(|e| measuring(&e)))
    else {
        bail!("the page measured no concept: it was not a first use");
    };
    let concept_end = seen.get(last + 1).map_or(done_ms, |(t, _)| *t);
    let concept_texts: usize = seen[last]
        .1
        .rsplit(" of ")
        .next()
        .and_then(|t| t.split(' ').next()?.parse().ok())
        .with_context(|| format!("no count of texts in the page's status {:?}", seen[last].1))?;

    let mut longest = (0.0, String::new());
    let mut previous = (0.0, "choosing the file".to_owned());
    for (t, what) in seen.iter().chain(std::iter::once(&(done_ms, String::new()))) {
        if t - previous.0 > longest.0 {
            longest = (t - previous.0, previous.1.clone());
        }
        previous = (*t, what.clone());
    }

    let mut statuses: Vec<(f64, String)> = Vec::new();
    for &(t, id, text) in changes.iter().filter(|(_, _, text)| !text.is_empty()) {
        let folded = format!("{id}: {}", fold_progress(text));
        if !statuses.iter().any(|(_, s)| *s == folded) {
            statuses.push((t / 1e3, folded));
        }
    }
    Ok(FirstUseBench {
        date: super::today(),
        machine: super::machine_name(),
        browser: headless::browser_name(raw),
        file,
        file_bytes,
        rounds: ROUNDS,
        samples: SAMPLES,
        load_s: ready_ms / 1e3,
        concept_s: (concept_end - seen[first].0) / 1e3,
        concept_texts,
        run_s: (done_ms - ready_ms) / 1e3,
        total_s: done_ms / 1e3,
        longest_quiet_s: longest.0 / 1e3,
        longest_quiet_after: longest.1,
        statuses,
        engine: raw["engine"].as_str().unwrap_or_default().to_owned(),
    })
}

/// A status without its progress count: "checking x: 3.0 of 9.0 MiB" → "checking x".
fn fold_progress(status: &str) -> String {
    match status.rfind(": ") {
        Some(at) if status[at + 2..].contains(" of ") => status[..at].to_owned(),
        _ => status.to_owned(),
    }
}

pub fn markdown(b: &FirstUseBench) -> String {
    let verdict = if b.total_s <= TARGET_S { "within" } else { "over" };
    let mut out = format!(
        "## {date} — a visitor's first use, {machine}\n\n`sclab bench --browser --first-use`: {file} ({mib:.0} MiB) \
chosen under \"your own GGUF\" in {browser}, on the page's CPU engine (wasm, one thread; engine line: {engine}); no \
concept staged for it, so the page measures the one a custom prompt needs; then the custom prompt, {rounds} rounds, \
K = {samples}, the paper's answer length.\n\n\
| phase | seconds |\n|---|---|\n\
| choosing the file → Ready | {load:.1} |\n\
| Run → run done | {run:.1} |\n\
| … of which measuring the concept ({texts} texts) | {concept:.1} |\n\
| **total** | **{total:.1}** ({verdict} the {target:.0} s target) |\n\n\
The longest time the page showed nothing new (no status change, no streamed token): {quiet:.1} s, after \
\"{after}\".\n\nWhat the page said, each first shown at (s):\n\n",
        date = b.date,
        machine = b.machine,
        file = b.file,
        mib = b.file_bytes as f64 / (1 << 20) as f64,
        browser = b.browser,
        engine = b.engine,
        rounds = b.rounds,
        samples = b.samples,
        load = b.load_s,
        run = b.run_s,
        texts = b.concept_texts,
        concept = b.concept_s,
        total = b.total_s,
        target = TARGET_S,
        quiet = b.longest_quiet_s,
        after = b.longest_quiet_after,
    );
    for (t, status) in &b.statuses {
        out += &format!("- {t:.1}: {status}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_counts_are_folded_and_other_colons_kept() {
        assert_eq!(fold_progress("checking a.gguf: 3.0 of 9.0 MiB"), "checking a.gguf");
        assert_eq!(fold_progress("measuring the x concept: 12 of 128 texts"), "measuring the x concept");
        assert_eq!(fold_progress("1 of 2 rounds"), "1 of 2 rounds");
        assert_eq!(fold_progress("Ready: a.gguf"), "Ready: a.gguf");
    }

    #[test]
    fn phases_quiet_time_and_statuses_come_from_what_the_page_showed() {
        let raw = json!({
            "ready_ms": 10_000.0,
            "done_ms": 100_000.0,
            "engine": "CPU",
            "seen": [
                [100.0, "model-status", "reading a.gguf"],
                [9_000.0, "model-status", "checking a.gguf: 1.0 of 2.0 MiB"],
                [10_000.0, "model-status", "Ready: a.gguf"],
                [11_000.0, "model-status", "measuring the toxicity concept: 0 of 128 texts"],
                [40_000.0, "model-status", "measuring the toxicity concept: 128 of 128 texts"],
                [41_000.0, "model-status", "Ready: a.gguf"],
                [41_500.0, "transcript", ""],
                [69_000.0, "run-status", "1 of 2 rounds"],
                [99_000.0, "run-status", "run done"],
                [99_500.0, "run-status", ""],
                [100_500.0, "transcript", ""],
            ],
        });
        let b = report(&raw, "a.gguf".into(), 3 << 20).unwrap();
        assert_eq!((b.load_s, b.run_s, b.total_s), (10.0, 90.0, 100.0));
        assert_eq!((b.concept_s, b.concept_texts), (30.0, 128), "to the status after the last count");
        assert_eq!((b.longest_quiet_s, b.longest_quiet_after.as_str()), (30.0, "run-status: 1 of 2 rounds"));
        let statuses: Vec<&str> = b.statuses.iter().map(|(_, s)| s.as_str()).collect();
        assert_eq!(
            statuses,
            [
                "model-status: reading a.gguf",
                "model-status: checking a.gguf",
                "model-status: Ready: a.gguf",
                "model-status: measuring the toxicity concept",
                "run-status: 1 of 2 rounds",
                "run-status: run done",
            ]
        );
        let no_concept = json!({ "ready_ms": 1.0, "done_ms": 2.0, "seen": [] });
        assert!(report(&no_concept, "a.gguf".into(), 1).is_err());
        let uncounted =
            json!({ "ready_ms": 1.0, "done_ms": 2.0, "seen": [[1.5, "model-status", "measuring the x concept"]] });
        let err =
            report(&uncounted, "a.gguf".into(), 1).err().expect("a status without a count is refused").to_string();
        assert!(err.contains("no count of texts"), "{err}");
    }
}
