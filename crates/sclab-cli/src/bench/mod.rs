//! `sclab bench`: our engine and candle-transformers' stock `quantized_llama` on the same GGUF,
//! measured in one run, reported as ratios; with `--experiment`, the round protocol against the
//! naive way of running it.

mod browser;
mod experiment;
mod first_use;
#[cfg(feature = "gpu")]
mod gpu;
mod headless;
mod page_experiment;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::bail;
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_llama::ModelWeights;
use sclab_assets::models::DEFAULT_MODEL;
use sclab_core::logits::argmax;
use sclab_core::{Backend, ForwardRequest, LogitPositions};
use sclab_model::Message;
use serde::Serialize;

use crate::model_choice::{default_model, model_path, BackendArg, QuantArg};

const PROMPT: &str = "A teacher asks her class to read a short story about two neighbours who argue \
over a fence, then to write one paragraph on how each neighbour could have listened better. \
Explain, in plain words for a twelve-year-old, what makes an answer to such a question fair to \
both people, and give one example sentence that a student might write.";

#[derive(clap::Args)]
pub struct Args {
    /// Tokens decoded per measurement.
    #[arg(long, default_value_t = 128)]
    tokens: usize,
    /// Sequences decoded together in the batched measurement.
    #[arg(long, default_value_t = 5)]
    batch: usize,
    /// Measurements per figure; the best is kept (the machine is shared and noisy).
    #[arg(long, default_value_t = 2)]
    repeats: usize,
    #[arg(long, value_enum, num_args = 1.., default_values_t = [QuantArg::Q8_0, QuantArg::Q4_0])]
    quant: Vec<QuantArg>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
    /// Append the results as a Markdown section to this file (e.g. docs/BENCHMARKS.md).
    #[arg(long)]
    record: Option<PathBuf>,
    /// Measure one rtp item × 10 rounds × K = 5 end to end against the naive way instead.
    #[arg(long)]
    experiment: bool,
    /// A model's name (qwen2.5-coder-0.5b) or a Llama / Qwen2 GGUF instead of the default model's
    /// --quant files: against candle-transformers' stock model of its architecture (with
    /// --experiment: the experiment on it; with --browser: a model the page serves, by name;
    /// with --first-use: the visitor's file).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Measure the lab's wasm engine against wllama in headless Chromium instead (needs
    /// ./scripts/build-wasm, `npm ci` and Debian's chromium-driver); with --experiment, the
    /// experiment in the lab page against the same natively, part by part (no wllama, so no
    /// `npm ci`; the page's staged model file must be the native one, which is checked).
    #[arg(long)]
    browser: bool,
    /// With --browser and --model (a name or a file): a visitor's first use of that file in the
    /// page, chosen as "your own GGUF": loading, measuring the concept a custom prompt needs and
    /// a 2-round, K = 2 run of it, phase by phase.
    #[arg(long, requires = "browser", conflicts_with_all = ["experiment", "backend", "synthetic"])]
    first_use: bool,
    /// gpu: the WebGPU backend against the CPU engine, side by side (with --experiment: which
    /// backend runs it).
    #[arg(long, value_enum)]
    backend: Option<BackendArg>,
    /// With --backend gpu: random weights of the default model's shape (SmolLM2-135M) built in
    /// memory instead of the model file, for machines without the assets; speed does not depend
    /// on the values.
    #[arg(long)]
    synthetic: bool,
}

#[derive(Serialize, Clone, Copy, Default)]
struct Speeds {
    prefill_tok_s: f64,
    decode_tok_s: f64,
    /// Aggregate over the batch.
    batch_decode_tok_s: f64,
}

#[derive(Serialize)]
struct QuantResult {
    /// The default model's quantization, or the `--model` given.
    quant: String,
    /// The candle-transformers model it is measured against.
    stock_model: String,
    model_bytes: u64,
    /// Bytes of weights one decoding step reads, as the engine holds them in memory.
    weight_bytes: usize,
    /// Multiply-adds per token in the weight matrices.
    weight_macs: usize,
    prompt_tokens: usize,
    ours: Speeds,
    stock_candle: Speeds,
    /// ours / stock.
    ratio: Speeds,
    /// Weight bytes read per second at batch-1 decode, in GB/s.
    ours_decode_gb_s: f64,
    batch_over_single: f64,
}

#[derive(Serialize)]
struct Report {
    machine: String,
    threads: usize,
    date: String,
    tokens: usize,
    batch: usize,
    memory_read_gb_s: f64,
    results: Vec<QuantResult>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.browser && args.experiment {
        // The page runs the staged default model on its CPU engine; so must the native side.
        if args.model.is_some() || matches!(args.backend, Some(BackendArg::Gpu | BackendArg::Auto)) {
            bail!("--browser --experiment compares the default model on the CPU: drop --model and --backend");
        }
        let result = page_experiment::measure(Path::new("."), &experiment_model(&args))?;
        return publish(&args, &result, page_experiment::markdown(&result));
    }
    if args.first_use {
        let Some(model) = &args.model else {
            bail!("--first-use measures a visitor's own file: name it with --model (a file or a model's name)");
        };
        let result = first_use::measure(Path::new("."), &model_path(model, args.quant[0])?)?;
        return publish(&args, &result, first_use::markdown(&result));
    }
    if args.model.is_some() && matches!(args.backend, Some(BackendArg::Gpu | BackendArg::Auto)) {
        bail!(
            "--model is measured on the CPU engine against candle's stock model, or with --experiment: drop --backend"
        );
    }
    if args.browser {
        let model = staged_model(args.model.as_deref())?;
        let result = browser::measure(Path::new("."), model, args.tokens, args.batch)?;
        return publish(&args, &result, browser::markdown(&result));
    }
    if args.experiment {
        let result = experiment::measure(&experiment_model(&args))?;
        return publish(&args, &result, experiment::markdown(&result));
    }
    if matches!(args.backend, Some(BackendArg::Gpu | BackendArg::Auto)) {
        #[cfg(not(feature = "gpu"))]
        bail!("{}", sclab_lab::PlaceError::NotBuilt);
        #[cfg(feature = "gpu")]
        {
            let result = gpu::measure(&args)?;
            return publish(&args, &result, gpu::markdown(&result));
        }
    }
    let memory_read_gb_s = memory_read_bandwidth();
    let mut results = Vec::new();
    let models = match &args.model {
        Some(model) => vec![(model.display().to_string(), model_path(model, args.quant[0])?)],
        None => args
            .quant
            .iter()
            .map(|&q| Ok((format!("{q:?}"), default_model(q.into())?)))
            .collect::<anyhow::Result<_>>()?,
    };
    for (label, path) in models {
        let mut model = sclab_engine::load(&path)?;
        let prompt = model.chat_tokens(&[Message::user(PROMPT)])?;
        let ours = best_of(args.repeats, || measure_ours(&mut model.backend, &prompt, &args))?;
        let architecture = model.backend.model().config.architecture.clone();
        let stock = best_of(args.repeats, || measure_stock(&path, &architecture, &prompt, &args))?;
        let model_bytes = std::fs::metadata(&path)?.len();
        let weight_macs = model.backend.model().weight_macs();
        let weight_bytes = model.backend.model().weight_bytes();
        let ratio = Speeds {
            prefill_tok_s: ours.prefill_tok_s / stock.prefill_tok_s,
            decode_tok_s: ours.decode_tok_s / stock.decode_tok_s,
            batch_decode_tok_s: ours.batch_decode_tok_s / stock.batch_decode_tok_s,
        };
        let result = QuantResult {
            quant: label,
            stock_model: Stock::name(&architecture),
            model_bytes,
            weight_bytes,
            weight_macs,
            prompt_tokens: prompt.len(),
            ours_decode_gb_s: weight_bytes as f64 * ours.decode_tok_s / 1e9,
            batch_over_single: ours.batch_decode_tok_s / ours.decode_tok_s,
            ours,
            stock_candle: stock,
            ratio,
        };
        if !args.json {
            eprintln!("{}", markdown_rows(&result).join("\n"));
        }
        results.push(result);
    }
    let report = Report {
        machine: machine_name(),
        threads: candle_core::utils::get_num_threads(),
        date: today(),
        tokens: args.tokens,
        batch: args.batch,
        memory_read_gb_s,
        results,
    };
    publish(&args, &report, markdown(&report))
}

/// The page's id of the model `--browser` measures: the default, or a model the lab knows by
/// name (installed first if need be, so that the server stages it).
fn staged_model(model: Option<&Path>) -> anyhow::Result<&'static str> {
    let Some(model) = model else { return Ok(DEFAULT_MODEL) };
    let name = model.to_str().unwrap_or_default();
    if name == DEFAULT_MODEL {
        return Ok(DEFAULT_MODEL);
    }
    let Some(pinned) = sclab_assets::models::opt_in(name) else {
        bail!(
            "--browser measures a model the page serves: {} (for a file of your own, add --first-use)",
            sclab_assets::models::names().join(", ")
        );
    };
    // Fetched on first use, so that `sclab serve`'s staging finds it installed.
    model_path(model, QuantArg::Q8_0)?;
    Ok(pinned.name)
}

/// The model `--experiment` runs: `--model` or the default model in the first `--quant`.
fn experiment_model(args: &Args) -> crate::model_choice::ModelArgs {
    crate::model_choice::ModelArgs {
        model: args.model.clone(),
        quant: args.quant[0],
        backend: args.backend.unwrap_or(BackendArg::Cpu),
    }
}

/// Print a benchmark's result (JSON with --json, Markdown otherwise) and append the Markdown
/// to the --record file.
fn publish(args: &Args, result: &impl Serialize, markdown: String) -> anyhow::Result<()> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(result)?);
    } else {
        println!("{markdown}");
    }
    if let Some(path) = &args.record {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        writeln!(file, "\n{markdown}")?;
    }
    Ok(())
}

/// Best of `n` runs, figure by figure.
fn best_of(n: usize, mut f: impl FnMut() -> anyhow::Result<Speeds>) -> anyhow::Result<Speeds> {
    let mut best = f()?;
    for _ in 1..n {
        let s = f()?;
        best.prefill_tok_s = best.prefill_tok_s.max(s.prefill_tok_s);
        best.decode_tok_s = best.decode_tok_s.max(s.decode_tok_s);
        best.batch_decode_tok_s = best.batch_decode_tok_s.max(s.batch_decode_tok_s);
    }
    Ok(best)
}

/// Decoding feeds the argmax token back whatever it is, so every run decodes exactly
/// `tokens` steps. Every sequence is freed again, so repeated runs start from an empty cache.
fn measure_ours<B: Backend>(backend: &mut B, prompt: &[u32], args: &Args) -> anyhow::Result<Speeds> {
    let block = |b: &mut B, batch: &[ForwardRequest]| pollster::block_on(b.forward(batch));

    let seq = backend.new_sequence();
    let t = Instant::now();
    let out = block(
        backend,
        &[ForwardRequest { seq, tokens: prompt.to_vec(), logits: LogitPositions::Last, hidden: false }],
    )?;
    let prefill_tok_s = prompt.len() as f64 / t.elapsed().as_secs_f64();

    let mut next = argmax(&out[0].logits) as u32;
    let single = backend.fork(seq)?;
    let t = Instant::now();
    for _ in 0..args.tokens {
        let out = block(backend, &[ForwardRequest::decode(single, next)])?;
        next = argmax(&out[0].logits) as u32;
    }
    let decode_tok_s = args.tokens as f64 / t.elapsed().as_secs_f64();

    let seqs: Vec<_> = (0..args.batch).map(|_| backend.fork(seq)).collect::<Result<_, _>>()?;
    let mut nexts = vec![argmax(&out[0].logits) as u32; args.batch];
    let t = Instant::now();
    for _ in 0..args.tokens {
        let batch: Vec<_> = seqs.iter().zip(&nexts).map(|(&s, &n)| ForwardRequest::decode(s, n)).collect();
        let outs = block(backend, &batch)?;
        for (n, o) in nexts.iter_mut().zip(outs) {
            *n = argmax(&o.logits) as u32;
        }
    }
    let batch_decode_tok_s = (args.tokens * args.batch) as f64 / t.elapsed().as_secs_f64();
    for s in [seq, single].into_iter().chain(seqs) {
        backend.free(s);
    }
    Ok(Speeds { prefill_tok_s, decode_tok_s, batch_decode_tok_s })
}

/// candle-transformers' model for `architecture`: `forward(tokens, position)` gives the last
/// position's logits per batch row.
enum Stock {
    Llama(candle_transformers::models::quantized_llama::ModelWeights),
    Qwen2(candle_transformers::models::quantized_qwen2::ModelWeights),
}

impl Stock {
    /// The stock model for a file of `architecture`: Qwen2's, else Llama's.
    fn is_qwen2(architecture: &str) -> bool {
        architecture == "qwen2"
    }

    fn name(architecture: &str) -> String {
        let module = if Self::is_qwen2(architecture) { "quantized_qwen2" } else { "quantized_llama" };
        format!("candle-transformers {module}")
    }

    fn load(path: &Path, architecture: &str, device: &Device) -> anyhow::Result<Self> {
        use candle_transformers::models::quantized_qwen2;
        let mut file = std::fs::File::open(path)?;
        let content = candle_core::quantized::gguf_file::Content::read(&mut file)?;
        Ok(if Self::is_qwen2(architecture) {
            Stock::Qwen2(quantized_qwen2::ModelWeights::from_gguf(content, &mut file, device)?)
        } else {
            Stock::Llama(ModelWeights::from_gguf(content, &mut file, device)?)
        })
    }

    fn forward(&mut self, input: &Tensor, position: usize) -> candle_core::Result<Tensor> {
        match self {
            Stock::Llama(m) => m.forward(input, position),
            Stock::Qwen2(m) => m.forward(input, position),
        }
    }
}

fn measure_stock(path: &Path, architecture: &str, prompt: &[u32], args: &Args) -> anyhow::Result<Speeds> {
    let device = Device::Cpu;
    let load = || Stock::load(path, architecture, &device);
    let last_argmax =
        |logits: &Tensor, row: usize| -> anyhow::Result<u32> { Ok(argmax(&logits.get(row)?.to_vec1::<f32>()?) as u32) };

    let mut model = load()?;
    let input = Tensor::new(prompt, &device)?.unsqueeze(0)?;
    let t = Instant::now();
    let logits = model.forward(&input, 0)?;
    let prefill_tok_s = prompt.len() as f64 / t.elapsed().as_secs_f64();
    let mut next = last_argmax(&logits, 0)?;
    let t = Instant::now();
    for i in 0..args.tokens {
        let logits = model.forward(&Tensor::new(&[next], &device)?.unsqueeze(0)?, prompt.len() + i)?;
        next = last_argmax(&logits, 0)?;
    }
    let decode_tok_s = args.tokens as f64 / t.elapsed().as_secs_f64();

    // The stock model has no fork, and its batched prefill fails on a non-contiguous slice in
    // candle 0.11.1: feed the batch of identical prompts a position at a time (not timed).
    let mut model = load()?;
    let mut logits = None;
    for (pos, &token) in prompt.iter().enumerate() {
        let input = Tensor::new(vec![token; args.batch].as_slice(), &device)?.unsqueeze(1)?;
        logits = Some(model.forward(&input, pos)?);
    }
    let logits = logits.expect("the prompt is not empty");
    let mut nexts: Vec<u32> = (0..args.batch).map(|r| last_argmax(&logits, r)).collect::<Result<_, _>>()?;
    let t = Instant::now();
    for i in 0..args.tokens {
        let input = Tensor::new(nexts.as_slice(), &device)?.unsqueeze(1)?;
        let logits = model.forward(&input, prompt.len() + i)?;
        nexts = (0..args.batch).map(|r| last_argmax(&logits, r)).collect::<Result<_, _>>()?;
    }
    let batch_decode_tok_s = (args.tokens * args.batch) as f64 / t.elapsed().as_secs_f64();
    Ok(Speeds { prefill_tok_s, decode_tok_s, batch_decode_tok_s })
}

/// Read bandwidth of this machine with every worker thread summing its share of 512 MiB.
fn memory_read_bandwidth() -> f64 {
    let words: usize = 64 << 20;
    let data: Vec<u64> = (0..words as u64).collect();
    let threads = candle_core::utils::get_num_threads().max(1);
    let mut best = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        let total: u64 = std::thread::scope(|s| {
            data.chunks(words.div_ceil(threads))
                .map(|chunk| s.spawn(move || chunk.iter().fold(0u64, |a, &x| a.wrapping_add(x))))
                .collect::<Vec<_>>()
                .into_iter()
                .map(|h| h.join().unwrap_or(0))
                .fold(0u64, u64::wrapping_add)
        });
        std::hint::black_box(total);
        best = best.max((words * 8) as f64 / t.elapsed().as_secs_f64() / 1e9);
    }
    best
}

fn machine_name() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores")
}

/// Today's date (UTC), as a benchmark section is headed.
fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

fn markdown_rows(r: &QuantResult) -> Vec<String> {
    let row = |name: &str, ours: f64, stock: f64, ratio: f64| {
        format!("| {} | {name} | {ours:.1} | {stock:.1} | {ratio:.2}× |", r.quant)
    };
    vec![
        row("prefill tok/s", r.ours.prefill_tok_s, r.stock_candle.prefill_tok_s, r.ratio.prefill_tok_s),
        row("decode tok/s, batch 1", r.ours.decode_tok_s, r.stock_candle.decode_tok_s, r.ratio.decode_tok_s),
        row(
            "decode tok/s, batch K (aggregate)",
            r.ours.batch_decode_tok_s,
            r.stock_candle.batch_decode_tok_s,
            r.ratio.batch_decode_tok_s,
        ),
    ]
}

fn markdown(report: &Report) -> String {
    let mut out = format!(
        "## {} — {} ({} threads)\n\n`sclab bench`: {} decoded tokens, batch K = {}, prompt of {} tokens; best of repeated runs. \
Measured memory read bandwidth: {:.1} GB/s. Stock: {}.\n\n| model | figure | sclab | stock candle | ratio |\n|---|---|---|---|---|\n",
        report.date,
        report.machine,
        report.threads,
        report.tokens,
        report.batch,
        report.results.first().map_or(0, |r| r.prompt_tokens),
        report.memory_read_gb_s,
        report.results.first().map_or(String::new(), |r| format!("`{}`", r.stock_model)),
    );
    for r in &report.results {
        out += &(markdown_rows(r).join("\n") + "\n");
    }
    out += "\n";
    for r in &report.results {
        let share = |gb_s: f64| 100.0 * gb_s / report.memory_read_gb_s;
        let batch_steps = r.ours.batch_decode_tok_s / report.batch as f64;
        let batch_gb_s = r.weight_bytes as f64 * batch_steps / 1e9;
        out += &format!(
            "- {q}: prefill multiplies each weight by {prompt} rows per read, {gmac:.1} GMAC/s: bounded by \
arithmetic. Batch-1 decode reads the {mb:.0} MB of weights {t1:.1} times a second = {g1:.1} GB/s, {p1:.0} % of \
the measured read bandwidth: {bound1}. Batch {k} reads them {tk:.1} times a second for {k} rows ({gk:.1} GB/s, \
{pk:.0} %): bounded by arithmetic, and {ratio:.2}× the aggregate tokens/s of batch 1.\n",
            q = r.quant,
            prompt = r.prompt_tokens,
            gmac = r.weight_macs as f64 * r.ours.prefill_tok_s / 1e9,
            mb = r.weight_bytes as f64 / 1e6,
            t1 = r.ours.decode_tok_s,
            g1 = r.ours_decode_gb_s,
            p1 = share(r.ours_decode_gb_s),
            bound1 = if share(r.ours_decode_gb_s) >= 60.0 {
                "bounded by memory bandwidth"
            } else {
                "bounded by arithmetic and per-step overhead more than by bandwidth"
            },
            k = report.batch,
            tk = batch_steps,
            gk = batch_gb_s,
            pk = share(batch_gb_s),
            ratio = r.batch_over_single,
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn today_is_an_iso_date() {
        let today = super::today();
        let parts: Vec<&str> = today.split('-').collect();
        assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [4, 2, 2], "{today}");
        assert!(parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())), "{today}");
        assert!(parts[0] >= "2026", "{today}");
    }
}
