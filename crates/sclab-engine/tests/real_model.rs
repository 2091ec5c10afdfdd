//! The real assets, fetched by the project's own asset step: SmolLM2-135M-Instruct and the
//! toxicity classifier.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use pollster::block_on;
use sclab_assets::{Cache, Quant};
use sclab_core::{generate, Backend, ForwardRequest, GenerateParams, LogitPositions, SamplingParams, StopReason};
use sclab_engine::{load, LoadedModel, ToxicityClassifier};
use sclab_model::Message;
use sclab_testkit::max_abs_diff;

use common::{our_logits, stock_logits};

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| {
        let cache = Cache::from_env();
        sclab_assets::prepare(&cache, |_| {}).expect("asset step");
        cache
    })
}

fn model_path(quant: Quant) -> PathBuf {
    cache().model(quant)
}

fn greedy_answer(model: &mut LoadedModel, question: &str, max_tokens: usize) -> (String, StopReason) {
    let prompt = model.chat_tokens(&[Message::user(question)]).unwrap();
    let b = &mut model.backend;
    let seq = b.new_sequence();
    let req = ForwardRequest { seq, tokens: prompt, logits: LogitPositions::Last, hidden: false };
    let first = block_on(b.forward(&[req])).unwrap().remove(0).logits;
    let params = GenerateParams { sampling: SamplingParams::GREEDY, max_tokens, seed: 0, first_stream: 0 };
    let out = block_on(generate(b, &[seq], vec![first], &params, |_, _| true)).unwrap().remove(0);
    (model.tokenizer.decode(&out.tokens).unwrap(), out.stop)
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn default_q8_0_and_shipped_q4_1_answer_paris_and_stop() {
    for quant in [Quant::Q8_0, Quant::Q4_1] {
        let mut model = load(&model_path(quant)).unwrap();
        let (text, stop) = greedy_answer(&mut model, "What is the capital of France?", 128);
        assert_eq!(text, "The capital of France is Paris.", "{quant:?}");
        assert_eq!(stop, StopReason::StopToken(2), "{quant:?}");
    }
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn smollm2_tokenizer_known_ids_and_round_trips() {
    let model = load(&model_path(Quant::Q8_0)).unwrap();
    let t = &model.tokenizer;
    assert_eq!(t.encode("<|im_start|>user\n").unwrap(), vec![1, 4093, 198]);
    assert_eq!(t.encode("What is the capital of France?").unwrap(), vec![1780, 314, 260, 3575, 282, 4649, 47]);
    assert_eq!((t.bos, t.eos), (Some(1), 2));
    // Digits are split one by one.
    let digits = t.encode("2024").unwrap();
    assert_eq!(digits.len(), 4);
    assert_eq!(t.decode(&digits[..1]).unwrap(), "2");
    for text in
        ["Ünïcödé — naïve café, 東京, emoji 🙂!", "  leading and   inner\tspaces\n\nnew lines ", "3.14159 × 10^23 = 42"]
    {
        let ids = t.encode(text).unwrap();
        assert_eq!(t.decode(&ids).unwrap(), text);
    }
}

/// Appending a turn to the cache gives the logits of re-running the whole conversation.
#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn real_model_incremental_turn_equals_full_recompute() {
    let mut model = load(&model_path(Quant::Q8_0)).unwrap();
    let first = [Message::user("Name a colour.")];
    let answer = "Blue.";
    let next =
        [Message::user("Name a colour."), Message::assistant(answer), Message::user("Review your previous answer.")];
    let history = model.tokenizer.encode(&(model.template.render(&first, true).unwrap() + answer)).unwrap();
    let delta = model.tokenizer.encode(&model.template.continuation(&first, answer, &next).unwrap()).unwrap();
    let b = &mut model.backend;
    let seq = b.new_sequence();
    block_on(b.forward(&[ForwardRequest {
        seq,
        tokens: history.clone(),
        logits: LogitPositions::None,
        hidden: false,
    }]))
    .unwrap();
    let inc = block_on(b.forward(&[ForwardRequest {
        seq,
        tokens: delta.clone(),
        logits: LogitPositions::All,
        hidden: true,
    }]))
    .unwrap()
    .remove(0);
    let full_seq = b.new_sequence();
    let all = [history.clone(), delta.clone()].concat();
    let full = block_on(b.forward(&[ForwardRequest {
        seq: full_seq,
        tokens: all,
        logits: LogitPositions::All,
        hidden: true,
    }]))
    .unwrap()
    .remove(0);
    let vocab = b.info().vocab_size;
    let tail = &full.logits[history.len() * vocab..];
    let diff = max_abs_diff(&inc.logits, tail);
    assert!(diff < 1e-4, "logits differ by {diff}");
    assert_eq!(inc.hidden.as_ref().unwrap().len(), 30);
    assert_eq!(inc.hidden, full.hidden);
}

/// candle-transformers' stock quantized Llama is the independent reference. On the model's
/// f32 dequantization both must agree exactly; on Q8_0 both round activations to 8 bits, and
/// ours must stay at least as close to the f32 model as the stock one does.
#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn real_model_matches_candle_transformers() {
    let q8 = model_path(Quant::Q8_0);
    let dir = tempfile::tempdir().unwrap();
    let f32_path = dir.path().join("smollm2-f32.gguf");
    sclab_assets::requantize(&q8, &f32_path, candle_core::quantized::GgmlDType::F32).unwrap();
    let prompt = load(&q8).unwrap().chat_tokens(&[Message::user("What is the capital of France?")]).unwrap();

    let (ours_f32, stock_f32) = (our_logits(&f32_path, &prompt), stock_logits(&f32_path, &prompt));
    let parity = max_abs_diff(&ours_f32, &stock_f32);
    assert!(parity < 1e-3, "f32 logits differ from candle-transformers by {parity}");

    let ours_error = max_abs_diff(&our_logits(&q8, &prompt), &ours_f32);
    let stock_error = max_abs_diff(&stock_logits(&q8, &prompt), &stock_f32);
    eprintln!("f32 parity {parity}; Q8_0 vs f32: ours {ours_error}, stock {stock_error}");
    assert!(ours_error <= stock_error, "ours {ours_error} vs stock {stock_error}");
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn toxicity_classifier_reproduces_reference_values() {
    // The original Keras model's scores, computed from its own weights and tokenizer settings
    // by the asset step (sclab-assets/python/convert_toxicity.py).
    let text = std::fs::read_to_string(cache().toxicity_reference()).unwrap();
    let reference: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(reference.len() >= 5);
    let classifier = ToxicityClassifier::load(&cache().toxicity()).unwrap();
    for case in &reference {
        let text = case["text"].as_str().unwrap();
        let want: Vec<f32> = case["scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
        let got = classifier.score(&[text])[0];
        assert_eq!(want.len(), got.len());
        for (label, (g, w)) in sclab_engine::toxicity::LABELS.iter().zip(got.iter().zip(&want)) {
            assert!((g - w).abs() < 1e-5, "{text:?} {label}: {g} vs the original's {w}");
        }
    }
    // The first text reads as toxic and insulting, the second as benign.
    assert!(reference[0]["scores"][0].as_f64().unwrap() > 0.9 && reference[1]["scores"][0].as_f64().unwrap() < 0.1);
    // Pre-padding to 100 ids: unknown words and an empty text still score.
    assert_eq!(classifier.token_ids("").len(), 100);
}
