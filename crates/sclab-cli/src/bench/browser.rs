//! `sclab bench --browser`: decode speed of the lab's wasm engine and of wllama (llama.cpp in
//! wasm, single-threaded) on the same staged GGUF in one headless Chromium (bench/headless.rs).

use std::path::Path;

use anyhow::{bail, Context};
use axum::http::{header, HeaderValue};
use serde::Serialize;
use serde_json::{json, Value};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use super::headless::{self, Step};
use super::PROMPT;

/// wllama starts its worker from a `blob:` URL; the bench page (only) allows that.
const BENCH_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' blob:; worker-src 'self' blob:; \
     connect-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'";

#[derive(Serialize)]
pub struct BrowserReport {
    pub date: String,
    pub machine: String,
    pub browser: String,
    /// The staged model's description (`sclab serve`'s manifest) and file size.
    pub model: String,
    pub model_bytes: u64,
    pub prompt_tokens: usize,
    pub tokens: usize,
    pub batch: usize,
    pub ours_prefill_tok_s: f64,
    pub ours_decode_tok_s: f64,
    pub ours_batch_decode_tok_s: f64,
    pub wllama_prefill_tok_s: f64,
    pub wllama_decode_tok_s: f64,
    pub wllama_threads: u64,
    /// ours / wllama, decode at batch 1.
    pub decode_ratio: f64,
    pub prefill_ratio: f64,
    pub wasm_memory_mib: f64,
    pub raw: Value,
}

/// `model`: the id of a model `sclab serve` stages (the default or an installed opt-in one).
pub fn measure(root: &Path, model: &str, tokens: usize, batch: usize) -> anyhow::Result<BrowserReport> {
    let root = root.canonicalize()?;
    let wllama = root.join("node_modules/@wllama/wllama/esm");
    if !wllama.join("wasm/wllama.wasm").exists() {
        bail!("{} is missing: run `npm ci` in the repository first", wllama.display());
    }
    if !root.join("pkg/sclab_web_bg.wasm").exists() {
        bail!("pkg/ is missing: run ./scripts/build-wasm first");
    }
    crate::serve::stage(&root)?;
    let app = crate::serve::app(&root).nest_service("/bench/wllama", ServeDir::new(wllama)).layer(
        SetResponseHeaderLayer::overriding(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(BENCH_CSP)),
    );
    let (_server, port) = headless::serve(app)?;
    let raw = headless::drive(
        &root,
        &[Step {
            url: Some(format!("http://127.0.0.1:{port}/bench.html")),
            upload: None,
            script: "return window.sclabBench(arg);",
            arg: json!({ "prompt": PROMPT, "steps": tokens, "batch": batch, "wllamaBase": "/bench/wllama", "model": model }),
        }],
    )?;
    report(raw, tokens, batch)
}

fn report(raw: Value, tokens: usize, batch: usize) -> anyhow::Result<BrowserReport> {
    let number = |path: &str| -> anyhow::Result<f64> {
        raw.pointer(path).and_then(Value::as_f64).with_context(|| format!("no {path} in the benchmark's answer"))
    };
    let prompt_tokens = number("/ours/single/prompt_tokens")? as usize;
    let per_second = |count: f64, ms: f64| count / (ms / 1000.0);
    let ours_prefill = per_second(prompt_tokens as f64, number("/ours/single/prefill_ms")?);
    let ours_decode = per_second(tokens as f64, number("/ours/single/decode_ms")?);
    let ours_batch = per_second((tokens * batch) as f64, number("/ours/batched/decode_ms")?);
    let wllama_prefill = number("/wllama/timings/prompt_per_second")?;
    let wllama_decode = number("/wllama/timings/predicted_per_second")?;
    let browser = headless::browser_name(&raw);
    Ok(BrowserReport {
        date: super::today(),
        machine: super::machine_name(),
        browser,
        model: raw.pointer("/model/description").and_then(Value::as_str).unwrap_or_default().to_owned(),
        model_bytes: raw.pointer("/model/bytes").and_then(Value::as_u64).unwrap_or_default(),
        prompt_tokens,
        tokens,
        batch,
        ours_prefill_tok_s: ours_prefill,
        ours_decode_tok_s: ours_decode,
        ours_batch_decode_tok_s: ours_batch,
        wllama_prefill_tok_s: wllama_prefill,
        wllama_decode_tok_s: wllama_decode,
        wllama_threads: raw.pointer("/wllama/threads").and_then(Value::as_u64).unwrap_or(1),
        decode_ratio: ours_decode / wllama_decode,
        prefill_ratio: ours_prefill / wllama_prefill,
        wasm_memory_mib: number("/ours/info/wasm_memory_bytes")? / (1 << 20) as f64,
        raw,
    })
}

pub fn markdown(r: &BrowserReport) -> String {
    format!(
        "## {date} — browser, {machine}\n\n`sclab bench --browser`: {model} in {browser}, wasm on one CPU thread each, one page; {tokens} greedy tokens after a {prompt}-token prompt. sclab times its own \
prefill and decode steps in its worker; wllama's figures are llama.cpp's own timings.\n\n\
| figure | sclab (wasm SIMD) | wllama {threads} thread | ratio |\n|---|---|---|---|\n\
| prefill tok/s | {op:.1} | {wp:.1} | {pr:.2}× |\n\
| decode tok/s, batch 1 | {od:.1} | {wd:.1} | {dr:.2}× |\n\
| decode tok/s, batch {batch} (aggregate) | {ob:.1} | — | — |\n\n\
The lab's wasm heap after loading the {model_mib:.0} MiB model: {mem:.0} MiB.\n",
        date = r.date,
        machine = r.machine,
        browser = r.browser,
        model = r.model,
        model_mib = r.model_bytes as f64 / (1 << 20) as f64,
        tokens = r.tokens,
        prompt = r.prompt_tokens,
        threads = r.wllama_threads,
        op = r.ours_prefill_tok_s,
        wp = r.wllama_prefill_tok_s,
        pr = r.prefill_ratio,
        od = r.ours_decode_tok_s,
        wd = r.wllama_decode_tok_s,
        dr = r.decode_ratio,
        batch = r.batch,
        ob = r.ours_batch_decode_tok_s,
        mem = r.wasm_memory_mib,
    )
}
