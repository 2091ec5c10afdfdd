//! `sclab bench --backend gpu`: the WebGPU backend (wgpu on Vulkan) and the CPU engine on the
//! same model, one after the other in one run, with the GPU's compute dispatches per token and,
//! where the adapter can time its passes, how much of a decoding step the GPU is busy.

use std::io::Cursor;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sclab_core::logits::argmax;
use sclab_core::{Backend, ForwardRequest, LogitPositions};
use sclab_engine::LoadedModel;
use sclab_gpu::GpuBackend;
use sclab_lab::AnyBackend;
use sclab_model::{GgufFile, Message, ModelError};
use sclab_testkit::{Shape, TinySpec};
use serde::Serialize;

use super::{measure_ours, Args, Speeds, PROMPT};
use crate::backend_choice::BackendArg;
use crate::model_choice::default_model;

#[derive(Serialize)]
pub struct GpuBench {
    pub date: String,
    pub machine: String,
    pub adapter: String,
    pub quant: String,
    /// The model file, or random weights of its shape (`--synthetic`).
    pub weights: String,
    pub prompt_tokens: usize,
    pub tokens: usize,
    pub batch: usize,
    pub gpu: Speeds,
    pub cpu: Speeds,
    /// Compute dispatches of one batch-1 decoding step.
    pub dispatches_per_token: u64,
    /// Whether the matrix product summed with subgroup operations.
    pub subgroups: bool,
    /// Wall time of a batch-1 decoding step, and how much of it the GPU was busy (timestamp
    /// queries; absent where the adapter has none).
    pub step_us: Option<f64>,
    pub gpu_busy_us: Option<f64>,
    /// Weights on the GPU: what a decoding step streams.
    pub weight_mb: f64,
}

/// Tokens of the benchmark prompt in the default model's chat format: a synthetic model's prompt
/// is as long.
const CHAT_PROMPT_TOKENS: usize = 100;

/// The model measured: the default model file, or random weights of its shape.
enum Weights {
    File(PathBuf),
    Synthetic(Vec<u8>),
}

impl Weights {
    fn name(&self) -> String {
        match self {
            Weights::File(path) => path.display().to_string(),
            Weights::Synthetic(_) => "random weights of SmolLM2-135M's shape".into(),
        }
    }

    fn cpu(&self) -> anyhow::Result<LoadedModel> {
        Ok(match self {
            Weights::File(path) => sclab_engine::load(path)?,
            Weights::Synthetic(bytes) => {
                sclab_engine::load_from_reader("synthetic.gguf", Box::new(Cursor::new(bytes.clone())))?
            }
        })
    }

    fn gguf(&self) -> Result<GgufFile, ModelError> {
        match self {
            Weights::File(path) => GgufFile::open(path),
            Weights::Synthetic(bytes) => {
                GgufFile::from_reader("synthetic.gguf".as_ref(), Box::new(Cursor::new(bytes.clone())))
            }
        }
    }
}

pub fn measure(args: &Args) -> anyhow::Result<GpuBench> {
    let quant = args.quant[0];
    let weights = if args.synthetic {
        let spec =
            TinySpec { shape: Shape::SMOLLM2_135M, dtype: quant.dtype(), context_length: 8192, ..Default::default() };
        Weights::Synthetic(sclab_testkit::tiny_model_bytes(&spec))
    } else {
        Weights::File(default_model(quant.into())?)
    };
    let mut cpu = weights.cpu()?;
    let prompt = match weights {
        Weights::File(_) => cpu.chat_tokens(&[Message::user(PROMPT)])?,
        Weights::Synthetic(_) => sclab_testkit::bytes(PROMPT)[..CHAT_PROMPT_TOKENS].to_vec(),
    };
    let cpu_speeds = super::best_of(args.repeats, || measure_ours(&mut cpu.backend, &prompt, args))?;
    drop(cpu);

    let loaded = weights.cpu()?;
    let AnyBackend::Gpu(mut gpu) =
        crate::backend_choice::choose_with(BackendArg::Gpu, loaded.backend, &weights.name(), || weights.gguf())?
    else {
        anyhow::bail!("no GPU backend")
    };
    let gpu_speeds = super::best_of(args.repeats, || measure_ours(gpu.as_mut(), &prompt, args))?;
    let seq = gpu.new_sequence();
    pollster::block_on(gpu.forward(&[ForwardRequest::decode(seq, prompt[0])]))?;
    let before = gpu.dispatches();
    pollster::block_on(gpu.forward(&[ForwardRequest::decode(seq, prompt[1])]))?;
    let dispatches_per_token = gpu.dispatches() - before;
    gpu.free(seq);
    let step = time_steps(&mut gpu, &prompt, args.tokens.min(32))?;
    Ok(GpuBench {
        date: super::today(),
        machine: super::machine_name(),
        adapter: {
            let info = &gpu.context().info;
            format!("{} ({:?}, {})", info.name, info.backend, info.driver_info)
        },
        quant: format!("{quant:?}"),
        weights: match weights {
            Weights::File(_) => "the default model".into(),
            Weights::Synthetic(_) => "random weights of the default model's shape".into(),
        },
        prompt_tokens: prompt.len(),
        tokens: args.tokens,
        batch: args.batch,
        gpu: gpu_speeds,
        cpu: cpu_speeds,
        dispatches_per_token,
        subgroups: gpu.uses_subgroups(),
        step_us: step.map(|s| s.0),
        gpu_busy_us: step.map(|s| s.1),
        weight_mb: gpu.weight_bytes() as f64 / 1e6,
    })
}

/// Mean wall time and GPU busy time, in µs, of `steps` batch-1 decoding steps after `prompt`;
/// `None` where the adapter cannot time its passes.
fn time_steps(gpu: &mut GpuBackend, prompt: &[u32], steps: usize) -> anyhow::Result<Option<(f64, f64)>> {
    if !gpu.time_passes(true) {
        return Ok(None);
    }
    let seq = gpu.new_sequence();
    let request = ForwardRequest { seq, tokens: prompt.to_vec(), logits: LogitPositions::Last, hidden: false };
    let mut next = argmax(&pollster::block_on(gpu.forward(&[request]))?[0].logits) as u32;
    let (mut wall, mut busy) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..steps {
        let started = Instant::now();
        let out = pollster::block_on(gpu.forward(&[ForwardRequest::decode(seq, next)]))?;
        wall += started.elapsed();
        busy += gpu.last_gpu_time().unwrap_or_default();
        next = argmax(&out[0].logits) as u32;
    }
    gpu.free(seq);
    gpu.time_passes(false);
    let mean = |d: Duration| d.as_secs_f64() * 1e6 / steps.max(1) as f64;
    Ok(Some((mean(wall), mean(busy))))
}

/// What the GPU timing says about a decoding step, for the record.
fn step_line(r: &GpuBench) -> String {
    match (r.step_us, r.gpu_busy_us) {
        (Some(step), Some(busy)) => format!(
            "A batch-1 decoding step takes {step:.0} µs, of which the GPU is busy {busy:.0} µs ({share:.0} %; \
timestamp queries around its one compute pass); while busy it streams the {mb:.0} MB of weights at {rate:.1} GB/s \
(the rest of the step is recording, submitting and reading back).",
            share = 100.0 * busy / step,
            mb = r.weight_mb,
            rate = r.weight_mb / busy * 1e3,
        ),
        _ => "The adapter offers no timestamp queries, so the GPU's own time is not measured.".into(),
    }
}

pub fn markdown(r: &GpuBench) -> String {
    let row = |name: &str, g: f64, c: f64| format!("| {name} | {g:.1} | {c:.1} | {:.2}× |\n", g / c);
    format!(
        "## {date} — WebGPU backend, {machine}\n\n`sclab bench --backend gpu`: {weights} ({quant}) on \
{adapter} through wgpu, against the CPU engine in the same run; {tokens} decoded tokens, batch {batch}, a \
{prompt}-token prompt; best of repeated runs. One decoding step is {dispatches} compute dispatches; the matrix product {subgroups}.\n\n\
{step}\n\n| figure | GPU | CPU engine | GPU / CPU |\n|---|---|---|---|\n{prefill}{decode}{batched}",
        date = r.date,
        machine = r.machine,
        quant = r.quant,
        weights = r.weights,
        adapter = r.adapter,
        tokens = r.tokens,
        batch = r.batch,
        prompt = r.prompt_tokens,
        dispatches = r.dispatches_per_token,
        subgroups = if r.subgroups { "sums with subgroup operations" } else { "sums in workgroup memory" },
        step = step_line(r),
        prefill = row("prefill tok/s", r.gpu.prefill_tok_s, r.cpu.prefill_tok_s),
        decode = row("decode tok/s, batch 1", r.gpu.decode_tok_s, r.cpu.decode_tok_s),
        batched = row("decode tok/s, batch K (aggregate)", r.gpu.batch_decode_tok_s, r.cpu.batch_decode_tok_s),
    )
}
