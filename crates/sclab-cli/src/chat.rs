use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use sclab_core::{generate, Backend, ForwardRequest, GenerateParams, LogitPositions, SamplingParams, StopReason};
use sclab_model::{Message, TextStream};

use crate::model_choice::ModelArgs;

#[derive(clap::Args)]
pub struct Args {
    /// The user's message.
    #[arg(long)]
    prompt: String,
    /// A system message (default: the model's own, if its template has one).
    #[arg(long)]
    system: Option<String>,
    #[command(flatten)]
    model: ModelArgs,
    #[arg(long, default_value_t = 256)]
    max_tokens: usize,
    /// 0 decodes greedily.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Keep the k most likely tokens (0: all).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object at the end instead of streaming text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.prompt.trim().is_empty() {
        // Said before the model is fetched or loaded, not after.
        return Err(sclab_engine::EngineError::EmptyPrompt.into());
    }
    let path = args.model.path()?;
    let model = sclab_engine::load(&path).with_context(|| format!("loading {}", path.display()))?;
    let mut messages = Vec::new();
    if let Some(system) = &args.system {
        messages.push(Message::new("system", system.clone()));
    }
    messages.push(Message::user(args.prompt.clone()));
    let prompt = model.chat_tokens(&messages)?;
    let tokenizer = model.tokenizer;
    let mut backend = crate::backend_choice::choose(args.model.backend, &path, model.backend)?;

    let started = Instant::now();
    let backend = &mut backend;
    let seq = backend.new_sequence();
    let request = ForwardRequest { seq, tokens: prompt.clone(), logits: LogitPositions::Last, hidden: false };
    let first = pollster::block_on(backend.forward(&[request]))?.remove(0).logits;
    let prefill_s = started.elapsed().as_secs_f64();

    let params = GenerateParams {
        sampling: SamplingParams { temperature: args.temperature, top_k: args.top_k, top_p: args.top_p },
        max_tokens: args.max_tokens,
        seed: args.seed,
        first_stream: 0,
    };
    let mut stream = TextStream::new(&tokenizer);
    let mut stdout = std::io::stdout();
    let decode_started = Instant::now();
    let generated = pollster::block_on(generate(backend, &[seq], vec![first], &params, |_, token| {
        if !args.json {
            if let Ok(Some(piece)) = stream.push(token) {
                let _ = write!(stdout, "{piece}");
                let _ = stdout.flush();
            }
        }
        true
    }))?
    .remove(0);
    let decode_s = decode_started.elapsed().as_secs_f64();
    let text = tokenizer.decode(&generated.tokens)?;
    let stop = match generated.stop {
        StopReason::StopToken(_) => "stop_token",
        StopReason::MaxTokens => "max_tokens",
        StopReason::ContextFull => "context_full",
        StopReason::Cancelled => "cancelled",
    };
    let decode_tok_s = generated.tokens.len() as f64 / decode_s.max(1e-9);
    if args.json {
        let out = serde_json::json!({
            "model": path,
            "backend": backend.name(),
            "prompt_tokens": prompt.len(),
            "generated_tokens": generated.tokens.len(),
            "text": text,
            "tokens": generated.tokens,
            "stop": stop,
            "prefill_s": prefill_s,
            "decode_tok_per_s": decode_tok_s,
        });
        println!("{out}");
    } else {
        println!();
        eprintln!(
            "[{} prompt tokens in {:.2} s; {} tokens at {:.1} tok/s; stop: {stop}]",
            prompt.len(),
            prefill_s,
            generated.tokens.len(),
            decode_tok_s
        );
    }
    Ok(())
}
