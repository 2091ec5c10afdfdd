//! What both engines — native and compiled to wasm — compute on the tiny model, compared with
//! recorded references (`tiny_reference.json`, and `tiny_reference_formats.json` for the
//! interleaved kernel's other formats; written by the native test with `SCLAB_BLESS=1`): so the
//! browser's engine agrees with the native one, kernel by kernel.

use std::collections::BTreeMap;

use candle_core::quantized::GgmlDType;
use sclab_core::{generate, Backend, ForwardRequest, GenerateParams, LogitPositions, SamplingParams};
use sclab_engine::LoadedModel;
use sclab_model::Message;
use sclab_testkit::{tiny_model_bytes, TinySpec};
use serde::{Deserialize, Serialize};

pub const REFERENCE: &str = include_str!("../tiny_reference.json");
/// Per format of [`FORMATS`] (by its debug name), on [`wide_model`].
pub const FORMAT_REFERENCES: &str = include_str!("../tiny_reference_formats.json");
/// The interleaved kernel's formats besides Q8_0 (the reference above): Q4_0's nibbles carry a
/// bias of 8, Q4_K's none; Q5_0, Q5_K and Q6_K take a byte a weight.
pub const FORMATS: [GgmlDType; 5] = [GgmlDType::Q4_0, GgmlDType::Q5_0, GgmlDType::Q4K, GgmlDType::Q5K, GgmlDType::Q6K];
pub type References = BTreeMap<String, Reference>;

#[derive(Debug, Serialize, Deserialize)]
pub struct Reference {
    pub prompt_tokens: Vec<u32>,
    pub logits: Vec<f32>,
    pub hidden_last_layer: Vec<f32>,
    pub greedy_tokens: Vec<u32>,
}

pub fn tiny_model() -> LoadedModel {
    load(&TinySpec { dtype: GgmlDType::Q8_0, ..Default::default() })
}

/// The tiny model in `dtype`, 256 wide: the k-quants' super-block (and the width for all of
/// [`FORMATS`], so that their references compare alike).
pub fn wide_model(dtype: GgmlDType) -> LoadedModel {
    let shape = sclab_testkit::Shape { hidden: 256, layers: 2, heads: 4, kv_heads: 2, ffn: 512, vocab: 0 };
    load(&TinySpec { dtype, shape, ..Default::default() })
}

fn load(spec: &TinySpec) -> LoadedModel {
    let bytes = tiny_model_bytes(spec);
    sclab_engine::load_from_reader("tiny.gguf", Box::new(std::io::Cursor::new(bytes))).unwrap()
}

pub async fn compute(model: &mut LoadedModel) -> Reference {
    let prompt_tokens = model.chat_tokens(&[Message::user("hello world, how are you?")]).unwrap();
    let seq = model.backend.new_sequence();
    let request = ForwardRequest { seq, tokens: prompt_tokens.clone(), logits: LogitPositions::Last, hidden: true };
    let out = model.backend.forward(&[request]).await.unwrap().remove(0);
    let hidden = out.hidden.unwrap();
    let params = GenerateParams { sampling: SamplingParams::GREEDY, max_tokens: 32, seed: 0, first_stream: 0 };
    let generated = generate(&mut model.backend, &[seq], vec![out.logits.clone()], &params, |_, _| true).await.unwrap();
    Reference {
        prompt_tokens,
        logits: out.logits,
        hidden_last_layer: hidden.last().unwrap().clone(),
        greedy_tokens: generated[0].tokens.clone(),
    }
}

/// Same tokens, and logits and hidden states within `tolerance` of the largest value (max abs
/// difference): summation order and fused multiply-adds differ between the targets.
pub fn assert_matches(got: &Reference, want: &Reference, tolerance: f32) {
    assert_eq!(got.prompt_tokens, want.prompt_tokens, "prompt tokens");
    assert_eq!(got.greedy_tokens, want.greedy_tokens, "greedy tokens");
    // The shared comparison (lengths first), relative to the largest value.
    let diff = sclab_testkit::relative_diff;
    let logits = diff(&got.logits, &want.logits);
    let hidden = diff(&got.hidden_last_layer, &want.hidden_last_layer);
    assert!(
        logits <= tolerance && hidden <= tolerance,
        "logits differ by {logits}, hidden states by {hidden} (relative)"
    );
}
