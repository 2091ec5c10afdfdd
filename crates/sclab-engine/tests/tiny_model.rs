//! Engine behaviour on a tiny random-weight model: cache semantics, batching, hidden states,
//! parity with candle-transformers' own Llama, and errors on bad input.

use candle_core::quantized::{gguf_file, GgmlDType};
use candle_core::{Device, Tensor};
use pollster::block_on;
use sclab_core::{
    generate, score_continuation, Backend, BackendError, ForwardRequest, GenerateParams, LogitPositions,
    SamplingParams, SeqId, StopReason,
};
use sclab_engine::{load, EngineError, LoadedModel};
use sclab_model::{GgufFile, Message, ModelConfig};
use sclab_testkit::*;

fn tiny(dtype: GgmlDType) -> (tempfile::TempDir, LoadedModel) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tiny_model(dir.path(), &TinySpec { dtype, ..Default::default() });
    let model = load(&path).unwrap();
    (dir, model)
}

fn forward(b: &mut impl Backend, seq: SeqId, tokens: &[u32], logits: LogitPositions) -> sclab_core::ForwardOutput {
    let req = ForwardRequest { seq, tokens: tokens.to_vec(), logits, hidden: true };
    block_on(b.forward(&[req])).unwrap().remove(0)
}

/// A three-turn conversation as token chunks: what each turn appends to the cache.
fn conversation() -> Vec<Vec<u32>> {
    let turn = |role: &str, text: &str| {
        let mut t = vec![IM_START];
        t.extend(bytes(&format!("{role}\n{text}")));
        t.extend([IM_END]);
        t.extend(bytes("\n"));
        t
    };
    vec![
        turn("user", "Is the sky blue?"),
        turn("assistant", "Yes, mostly."),
        turn("user", "Review your previous answer."),
    ]
}

#[test]
fn incremental_append_equals_full_recompute() {
    for dtype in [GgmlDType::F32, GgmlDType::Q8_0] {
        let (_dir, mut model) = tiny(dtype);
        let b = &mut model.backend;
        let turns = conversation();
        let incremental = b.new_sequence();
        let mut last = None;
        for t in &turns {
            last = Some(forward(b, incremental, t, LogitPositions::All));
        }
        let all: Vec<u32> = turns.concat();
        let full = b.new_sequence();
        let reference = forward(b, full, &all, LogitPositions::All);
        let vocab = b.info().vocab_size;
        let n_last = turns.last().unwrap().len();
        let tail = &reference.logits[(all.len() - n_last) * vocab..];
        let diff = max_abs_diff(&last.as_ref().unwrap().logits, tail);
        assert!(diff < 1e-4, "{dtype:?}: incremental vs full logits differ by {diff}");
        assert_eq!(b.seq_len(incremental).unwrap(), all.len());
        let hidden_diff = max_abs_diff(&last.unwrap().hidden.unwrap().concat(), &reference.hidden.unwrap().concat());
        assert!(hidden_diff < 1e-4, "{dtype:?}: hidden states differ by {hidden_diff}");
    }
}

#[test]
fn fork_and_batched_sampling_equal_separate_seeded_runs() {
    let (_dir, mut model) = tiny(GgmlDType::Q8_0);
    let b = &mut model.backend;
    let prompt = conversation().concat();
    let params = GenerateParams {
        sampling: SamplingParams { temperature: 0.9, top_k: 0, top_p: 0.95 },
        max_tokens: 24,
        seed: 11,
        first_stream: 0,
    };
    let k = 4;
    let root = b.new_sequence();
    let first = forward(b, root, &prompt, LogitPositions::Last).logits;
    let forks: Vec<SeqId> = (0..k).map(|_| b.fork(root).unwrap()).collect();
    let batched = block_on(generate(b, &forks, vec![first; k], &params, |_, _| true)).unwrap();

    for (i, together) in batched.iter().enumerate() {
        let alone = b.new_sequence();
        let first = forward(b, alone, &prompt, LogitPositions::Last).logits;
        let single = GenerateParams { first_stream: i as u64, ..params };
        let separate = block_on(generate(b, &[alone], vec![first], &single, |_, _| true)).unwrap().remove(0);
        assert_eq!(together.tokens, separate.tokens, "sample {i}");
        assert_eq!(together.log_probs, separate.log_probs, "sample {i}");
    }
    // Different streams do give different samples.
    assert!(batched.windows(2).any(|w| w[0].tokens != w[1].tokens));
    // The shared prefix is untouched by the forks' decoding.
    assert_eq!(b.seq_len(root).unwrap(), prompt.len());
}

/// Scoring a sampled continuation gives back the log-probabilities it was sampled with, and
/// leaves the context's cache as it was.
#[test]
fn scoring_a_continuation_matches_its_sampling_log_probs() {
    let (_dir, mut model) = tiny(GgmlDType::Q8_0);
    let b = &mut model.backend;
    let prompt = conversation().concat();
    let context = b.new_sequence();
    let context_logits = forward(b, context, &prompt, LogitPositions::Last).logits;
    let sampler = b.fork(context).unwrap();
    let params = GenerateParams {
        sampling: SamplingParams { temperature: 1.0, top_k: 0, top_p: 1.0 },
        max_tokens: 12,
        seed: 3,
        first_stream: 0,
    };
    let sampled =
        block_on(generate(b, &[sampler], vec![context_logits.clone()], &params, |_, _| true)).unwrap().remove(0);
    let scores = block_on(score_continuation(b, context, &context_logits, &sampled.tokens)).unwrap();
    assert_eq!(scores.len(), sampled.tokens.len());
    for (s, l) in scores.iter().zip(&sampled.log_probs) {
        assert!((s - l).abs() < 1e-4, "{s} vs {l}");
    }
    assert_eq!(b.seq_len(context).unwrap(), prompt.len());
    assert!(block_on(score_continuation(b, context, &context_logits, &[])).unwrap().is_empty());
}

#[test]
fn rollback_then_append_equals_never_having_appended() {
    let (_dir, mut model) = tiny(GgmlDType::Q8_0);
    let b = &mut model.backend;
    let turns = conversation();
    let seq = b.new_sequence();
    forward(b, seq, &turns[0], LogitPositions::None);
    let child = b.fork(seq).unwrap();
    forward(b, child, &turns[1], LogitPositions::None);
    // Roll back into the shared segment, then take another path.
    b.rollback(child, 3).unwrap();
    let rolled = forward(b, child, &turns[2], LogitPositions::All);
    let fresh = b.new_sequence();
    let mut tokens = turns[0][..3].to_vec();
    tokens.extend(&turns[2]);
    let reference = forward(b, fresh, &tokens, LogitPositions::All);
    let vocab = b.info().vocab_size;
    let diff = max_abs_diff(&rolled.logits, &reference.logits[3 * vocab..]);
    assert!(diff < 1e-4, "rolled back logits differ by {diff}");
    assert!(matches!(b.rollback(child, 1000), Err(BackendError::InvalidRollback { .. })));
}

/// The captured residual stream of the last layer, normed and projected by the (tied) head,
/// must give the logits: an independent check that the capture is the model's real state.
#[test]
fn last_hidden_state_projects_to_the_logits() {
    let (_dir, mut model) = tiny(GgmlDType::F32);
    let prompt = conversation().concat();
    let seq = model.backend.new_sequence();
    let out = forward(&mut model.backend, seq, &prompt, LogitPositions::Last);
    let hidden = out.hidden.as_ref().unwrap();
    assert_eq!(hidden.len(), LAYERS);
    assert!(hidden.iter().all(|h| h.len() == HIDDEN));
    let llama = model.backend.model();
    let h = hidden.last().unwrap();
    let rms = (h.iter().map(|x| x * x).sum::<f32>() / HIDDEN as f32 + 1e-5).sqrt();
    let normed: Vec<f32> = h.iter().zip(&llama.output_norm).map(|(x, w)| x / rms * w).collect();
    let mut row = vec![0f32; HIDDEN];
    let logits: Vec<f32> = (0..vocab().len())
        .map(|t| {
            llama.embedding.dequantize_row(t, &mut row);
            row.iter().zip(&normed).map(|(a, b)| a * b).sum()
        })
        .collect();
    let diff = max_abs_diff(&logits, &out.logits);
    assert!(diff < 1e-3, "head(hidden) differs from logits by {diff}");
}

fn our_last_logits(path: &std::path::Path, prompt: &[u32]) -> Vec<f32> {
    let mut model = load(path).unwrap();
    let seq = model.backend.new_sequence();
    forward(&mut model.backend, seq, prompt, LogitPositions::Last).logits
}

fn stock_llama_logits(path: &std::path::Path, prompt: &[u32]) -> Vec<f32> {
    let mut file = std::fs::File::open(path).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let mut stock =
        candle_transformers::models::quantized_llama::ModelWeights::from_gguf(content, &mut file, &Device::Cpu)
            .unwrap();
    let input = Tensor::new(prompt, &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    stock.forward(&input, 0).unwrap().get(0).unwrap().to_vec1::<f32>().unwrap()
}

/// candle-transformers' own quantized Llama is the independent reference: on f32 weights the
/// two must agree; on Q8_0 (whose activations each engine rounds its own way) ours must be at
/// least as close to the f32 dequantization of the same file as candle-transformers is.
#[test]
fn logits_match_candle_transformers_llama() {
    let dir = tempfile::tempdir().unwrap();
    let prompt = conversation().concat();
    let f32_path = write_tiny_model(dir.path(), &TinySpec::default());
    let parity = max_abs_diff(&our_last_logits(&f32_path, &prompt), &stock_llama_logits(&f32_path, &prompt));
    assert!(parity < 1e-3, "f32 logits differ from candle-transformers by {parity}");

    let q8_path = write_tiny_model(dir.path(), &TinySpec { dtype: GgmlDType::Q8_0, ..Default::default() });
    let dequantized = dir.path().join("dequantized.gguf");
    sclab_assets::requantize(&q8_path, &dequantized, GgmlDType::F32).unwrap();
    let truth = stock_llama_logits(&dequantized, &prompt);
    let ours = max_abs_diff(&our_last_logits(&q8_path, &prompt), &truth);
    let stock = max_abs_diff(&stock_llama_logits(&q8_path, &prompt), &truth);
    assert!(ours <= stock, "Q8_0 error vs f32: ours {ours}, candle-transformers {stock}");
}

/// Qwen2 (biases, half-split RoPE) against candle-transformers' quantized Qwen2.
#[test]
fn qwen2_logits_match_candle_transformers_qwen2() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TinySpec { architecture: "qwen2", ..Default::default() };
    let path = write_tiny_model(dir.path(), &spec);
    let mut ours = load(&path).unwrap();
    let prompt = conversation().concat();
    let seq = ours.backend.new_sequence();
    let mine = forward(&mut ours.backend, seq, &prompt, LogitPositions::Last).logits;

    let mut file = std::fs::File::open(&path).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    let mut stock =
        candle_transformers::models::quantized_qwen2::ModelWeights::from_gguf(content, &mut file, &Device::Cpu)
            .unwrap();
    let input = Tensor::new(prompt.as_slice(), &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    let theirs = stock.forward(&input, 0).unwrap().squeeze(0).unwrap().to_vec1::<f32>().unwrap();
    let diff = max_abs_diff(&mine, &theirs);
    assert!(diff < 1e-3, "qwen2 logits differ from candle-transformers by {diff}");
}

/// Every pre-tokenizer the engine knows round-trips text byte for byte, without a prefix space.
#[test]
fn each_pre_tokenizer_round_trips_without_prefix_space() {
    let dir = tempfile::tempdir().unwrap();
    for pre in ["smollm", "qwen2", "llama-bpe", "gpt2"] {
        let path = write_tiny_model(dir.path(), &TinySpec { pre, seed: 9, ..Default::default() });
        let model = load(&path).unwrap();
        for text in ["Hello world", "  2024 naïve 東京\n\tdone ", "<|im_start|>user\nhi<|im_end|>"] {
            let ids = model.tokenizer.encode(text).unwrap();
            assert_eq!(model.tokenizer.decode(&ids).unwrap(), text, "{pre}");
        }
        assert_eq!(model.tokenizer.encode("Hi").unwrap(), bytes("Hi"), "{pre}");
        assert_eq!(model.tokenizer.encode("<|im_end|>").unwrap(), vec![IM_END], "{pre}");
    }
}

/// A Llama 2 style SentencePiece vocabulary: merges rebuilt from piece scores, `▁` for spaces,
/// byte fallback for what the pieces do not cover.
#[test]
fn sentencepiece_vocabulary_encodes_with_merges_and_byte_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tiny_model(dir.path(), &TinySpec { sentencepiece: true, ..Default::default() });
    let model = load(&path).unwrap();
    let t = &model.tokenizer;
    assert_eq!(t.encode("hello world").unwrap(), vec![spm_id("▁hello"), spm_id("▁world")]);
    assert_eq!(t.encode("hi").unwrap(), vec![spm_id("▁hi")]);
    // "é" is not a piece: its two UTF-8 bytes fall back to <0xC3> <0xA9> (ids 3 + byte).
    assert_eq!(t.encode("hé").unwrap(), vec![spm_id("▁h"), 3 + 0xC3, 3 + 0xA9]);
    for text in ["hello world", "hi hello\nworld", "héllo  wörld"] {
        assert_eq!(t.decode(&t.encode(text).unwrap()).unwrap(), text);
    }
    assert_eq!(t.encode("</s>").unwrap(), vec![2]);
}

#[test]
fn greedy_generation_is_deterministic_and_stops_at_max_tokens() {
    let (_dir, mut model) = tiny(GgmlDType::Q8_0);
    let prompt = model.chat_tokens(&[Message::user("hello")]).unwrap();
    let run = |model: &mut LoadedModel, max_tokens: usize| {
        let b = &mut model.backend;
        let seq = b.new_sequence();
        let first = forward(b, seq, &prompt, LogitPositions::Last).logits;
        let params = GenerateParams { sampling: SamplingParams::GREEDY, max_tokens, seed: 0, first_stream: 0 };
        block_on(generate(b, &[seq], vec![first], &params, |_, _| true)).unwrap().remove(0)
    };
    let a = run(&mut model, 10);
    assert_eq!(a, run(&mut model, 10));
    // The tiny model's greedy answer runs past 10 tokens, so both lengths stop at their limit,
    // and the shorter answer is the longer one's beginning.
    assert_eq!((a.stop, a.tokens.len()), (StopReason::MaxTokens, 10), "{a:?}");
    let short = run(&mut model, 3);
    assert_eq!((short.stop, &short.tokens[..]), (StopReason::MaxTokens, &a.tokens[..3]));
}

#[test]
fn chat_tokens_follow_chatml_and_refuse_bad_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tiny_model(dir.path(), &TinySpec { context_length: 64, ..Default::default() });
    let model = load(&path).unwrap();
    let tokens = model.chat_tokens(&[Message::user("hi")]).unwrap();
    let mut expected = vec![IM_START];
    expected.extend(bytes("user\nhi"));
    expected.push(IM_END);
    expected.extend(bytes("\n"));
    expected.push(IM_START);
    expected.extend(bytes("assistant\n"));
    assert_eq!(tokens, expected);
    assert!(matches!(model.chat_tokens(&[Message::user("  ")]), Err(EngineError::EmptyPrompt)));
    let long = "x".repeat(100);
    match model.chat_tokens(&[Message::user(long)]) {
        Err(e @ EngineError::PromptTooLong { limit: 64, .. }) => assert!(e.to_string().contains("context holds 64")),
        other => panic!("expected PromptTooLong, got {:?}", other.map(|t| t.len())),
    }
}

#[test]
fn generation_stops_when_the_context_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let path =
        write_tiny_model(dir.path(), &TinySpec { context_length: 16, dtype: GgmlDType::Q8_0, ..Default::default() });
    let mut model = load(&path).unwrap();
    let b = &mut model.backend;
    let seq = b.new_sequence();
    let first = forward(b, seq, &bytes("0123456789"), LogitPositions::Last).logits;
    let params = GenerateParams { sampling: SamplingParams::GREEDY, max_tokens: 100, seed: 0, first_stream: 0 };
    let out = block_on(generate(b, &[seq], vec![first], &params, |_, _| true)).unwrap().remove(0);
    assert_eq!(out.stop, sclab_core::StopReason::ContextFull);
    // Six tokens fill the cache to 16; a seventh is sampled but has no room.
    assert_eq!((out.tokens.len(), out.cached), (7, 6));
    assert_eq!(b.seq_len(seq).unwrap(), 16);
}

#[test]
fn backend_rejects_overflow_unknown_sequences_and_bad_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tiny_model(dir.path(), &TinySpec { context_length: 16, ..Default::default() });
    let mut model = load(&path).unwrap();
    let b = &mut model.backend;
    let seq = b.new_sequence();
    let too_long = ForwardRequest { seq, tokens: vec![5; 17], logits: LogitPositions::Last, hidden: false };
    assert!(matches!(
        block_on(b.forward(&[too_long])),
        Err(BackendError::ContextOverflow { needed: 17, limit: 16, .. })
    ));
    assert_eq!(b.seq_len(seq).unwrap(), 0, "a refused call leaves the cache as it was");
    let bad = ForwardRequest { seq, tokens: vec![100_000], logits: LogitPositions::Last, hidden: false };
    assert!(matches!(block_on(b.forward(&[bad])), Err(BackendError::InvalidToken { token: 100_000, .. })));
    b.free(seq);
    let gone = ForwardRequest::decode(seq, 5);
    assert!(matches!(block_on(b.forward(&[gone])), Err(BackendError::UnknownSequence(_))));
}

/// Llama 3.x's RoPE scaling as a file stores it (`rope_freqs.weight`, written by the testkit as
/// llama.cpp's converter writes it) against the scaled frequencies computed here the way Hugging
/// Face's transformers computes them (in f64, the frequency itself rather than a divisor).
#[test]
fn llama3_rope_scaling_divides_each_frequency_as_the_reference_does() {
    let bytes = tiny_model_bytes(&TinySpec { llama3_rope: true, ..Default::default() });
    let mut gguf = GgufFile::from_reader("llama3.gguf".as_ref(), Box::new(std::io::Cursor::new(bytes))).unwrap();
    let config = ModelConfig::from_gguf(&mut gguf).unwrap();
    let head_dim = config.head_dim;
    let (factor, low, high, original) = (8.0, 1.0, 4.0, 8192.0);
    let mut bands = [0; 3];
    for (i, &got) in config.rope_frequencies().iter().enumerate() {
        let frequency = 1.0 / (LLAMA3_ROPE_BASE as f64).powf(2.0 * i as f64 / head_dim as f64);
        let wavelength = 2.0 * std::f64::consts::PI / frequency;
        let want = if wavelength < original / high {
            bands[0] += 1;
            frequency
        } else if wavelength > original / low {
            bands[2] += 1;
            frequency / factor
        } else {
            bands[1] += 1;
            let smooth = (original / wavelength - low) / (high - low);
            (1.0 - smooth) * frequency / factor + smooth * frequency
        };
        assert!(((got as f64 - want) / want).abs() < 1e-6, "frequency {i}: {got} vs {want}");
    }
    assert!(bands.iter().all(|&n| n > 0), "every band is exercised: {bands:?}");
    assert_eq!(config.rope_base, LLAMA3_ROPE_BASE);
}
