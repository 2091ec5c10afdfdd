//! The opt-in second model as shipped: Qwen2.5-Coder-0.5B-Instruct, a Q4_K_M mix of Q5_0, Q4_K,
//! Q6_K and Q8_0 tensors, fetched and joined by the asset step (`sclab assets --model
//! qwen2.5-coder-0.5b`). It is the lab's real k-quant file.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use sclab_assets::models::QWEN_CODER;
use sclab_assets::Cache;
use sclab_engine::load;
use sclab_model::Message;
use sclab_testkit::max_abs_diff;

use common::{our_logits, stock_logits};

fn qwen() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let cache = Cache::from_env();
        sclab_assets::prepare_model(&cache, &QWEN_CODER).expect("asset step");
        cache.opt_in_model(&QWEN_CODER)
    })
}

#[test]
#[ignore = "needs the opt-in model: ./scripts/test fetches it and runs it (cargo test -- --include-ignored)"]
fn qwen_tokenizer_known_ids_and_chat_format() {
    let model = load(qwen()).unwrap();
    let t = &model.tokenizer;
    // Qwen2's published ids: its specials and a plain phrase.
    assert_eq!(t.encode("<|endoftext|><|im_start|><|im_end|>").unwrap(), vec![151643, 151644, 151645]);
    assert_eq!(t.encode("Hello world").unwrap(), vec![9707, 1879]);
    let chat = model.chat_tokens(&[Message::user("Hi")]).unwrap();
    assert_eq!(chat[0], 151644, "no BOS before the first turn");
    let text = t.decode(&chat).unwrap();
    assert!(text.starts_with("<|im_start|>system\n"), "the template adds Qwen's system turn: {text:?}");
    assert!(text.ends_with("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"), "{text:?}");
}

/// candle-transformers' stock `quantized_qwen2` is the independent reference: on the file's f32
/// dequantization both must agree; on the shipped mix ours must stay at least as close to the
/// f32 model as the stock one does.
#[test]
#[ignore = "needs the opt-in model: ./scripts/test fetches it and runs it (cargo test -- --include-ignored)"]
fn qwen_matches_candle_transformers() {
    let dir = tempfile::tempdir().unwrap();
    let f32_path = dir.path().join("qwen-f32.gguf");
    sclab_assets::requantize(qwen(), &f32_path, candle_core::quantized::GgmlDType::F32).unwrap();
    let prompt = load(qwen()).unwrap().chat_tokens(&[Message::user("What is the capital of France?")]).unwrap();

    let (ours_f32, stock_f32) = (our_logits(&f32_path, &prompt), stock_logits(&f32_path, &prompt));
    assert_eq!(ours_f32.len(), 151_936);
    let parity = max_abs_diff(&ours_f32, &stock_f32);
    let ours_error = max_abs_diff(&our_logits(qwen(), &prompt), &ours_f32);
    let stock_error = max_abs_diff(&stock_logits(qwen(), &prompt), &stock_f32);
    eprintln!("f32 parity {parity}; shipped mix vs f32: ours {ours_error}, stock {stock_error}");
    assert!(parity < 1e-3, "f32 logits differ from candle-transformers by {parity}");
    assert!(ours_error <= stock_error, "ours {ours_error} vs stock {stock_error}");
    // 16-bit activations in every format of the mix (8-bit ones put this at 0.21).
    assert!(ours_error < 0.01, "the shipped mix is {ours_error} from its f32 model");
}
