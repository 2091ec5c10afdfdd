//! What the tests and benchmarks build for themselves: random-weight Llama GGUFs (the tiny one
//! the tests use natively and in the browser, or any other shape, such as the default model's for
//! GPU benchmarks on a machine without the assets), and a toxicity classifier of the real shape
//! with random weights.

mod classifier;
mod compare;
mod experiment;

pub use classifier::tiny_classifier;
pub use compare::{assert_close, max_abs_diff, relative_diff};
pub use experiment::{tiny_experiment, tiny_task_item};

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::{self, Value};
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use rand::{Rng, SeedableRng};
use sclab_model::tensors::{LayerTensor as T, OUTPUT_NORM, ROPE_FREQS, TOKEN_EMBD};
use sclab_model::{ModelConfig, RopeLayout, RopeScaling};

pub const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
pub const IM_START: u32 = 1;
pub const IM_END: u32 = 2;

/// The dimensions of a Llama model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub ffn: usize,
    /// Tokens: the byte-level vocabulary padded with unused tokens to this size (at least the
    /// specials and the 256 bytes, rounded up to a multiple of eight).
    pub vocab: usize,
}

impl Shape {
    pub const TINY: Shape =
        Shape { hidden: HIDDEN, layers: LAYERS, heads: HEADS, kv_heads: KV_HEADS, ffn: FFN, vocab: 0 };
    /// SmolLM2-135M, the lab's default model.
    pub const SMOLLM2_135M: Shape = Shape { hidden: 576, layers: 30, heads: 9, kv_heads: 3, ffn: 1536, vocab: 49_152 };
}

pub struct TinySpec {
    pub architecture: &'static str,
    pub shape: Shape,
    pub dtype: GgmlDType,
    pub context_length: u32,
    pub seed: u64,
    /// `tokenizer.ggml.pre`: which pre-tokenizer the engine must build.
    pub pre: &'static str,
    /// A Llama 2 style SentencePiece vocabulary (see `SPM_PIECES`) instead of byte-level BPE.
    pub sentencepiece: bool,
    /// Llama 3.x's RoPE: base 500 000 and its scaling as `rope_freqs.weight` (see
    /// [`llama3_rope_divisors`]).
    pub llama3_rope: bool,
}

impl Default for TinySpec {
    fn default() -> Self {
        Self {
            architecture: "llama",
            shape: Shape::TINY,
            dtype: GgmlDType::F32,
            context_length: 512,
            seed: 7,
            pre: "smollm",
            sentencepiece: false,
            llama3_rope: false,
        }
    }
}

/// Llama 3.x's RoPE base.
pub const LLAMA3_ROPE_BASE: f32 = 500_000.0;

/// Llama 3.1's RoPE scaling (factor 8, low- and high-frequency factors 1 and 4, an original
/// context of 8192) as llama.cpp's converter stores it in `rope_freqs.weight`: a divisor per
/// frequency, 1 for short wavelengths, the factor for long ones, blended in between.
pub fn llama3_rope_divisors(head_dim: usize, base: f32) -> Vec<f32> {
    let (factor, low, high, original) = (8.0f64, 1.0f64, 4.0f64, 8192.0f64);
    (0..head_dim / 2)
        .map(|i| {
            let frequency = 1.0 / (base as f64).powf(2.0 * i as f64 / head_dim as f64);
            let wavelength = 2.0 * std::f64::consts::PI / frequency;
            let divisor = if wavelength < original / high {
                1.0
            } else if wavelength > original / low {
                factor
            } else {
                let smooth = (original / wavelength - low) / (high - low);
                1.0 / ((1.0 - smooth) / factor + smooth)
            };
            divisor as f32
        })
        .collect()
}

pub const HIDDEN: usize = 64;
pub const LAYERS: usize = 2;
pub const HEADS: usize = 4;
pub const KV_HEADS: usize = 2;
pub const FFN: usize = 96;

/// GPT-2's byte-to-character table: what byte-level BPE vocabularies are written in.
fn byte_chars() -> Vec<char> {
    let printable = |b: u32| (33..=126).contains(&b) || (161..=172).contains(&b) || (174..=255).contains(&b);
    let mut extra = 0;
    (0..256u32)
        .map(|b| {
            if printable(b) {
                char::from_u32(b).unwrap()
            } else {
                extra += 1;
                char::from_u32(255 + extra).unwrap()
            }
        })
        .collect()
}

/// The specials, the 256 byte tokens, and unused tokens up to a multiple of eight rows, as
/// real vocabularies are: so that every matrix of the tiny model in an interleaved format, the
/// output head included, runs on the engine's interleaved kernels, as the real model's do.
pub fn vocab() -> Vec<String> {
    padded_vocab(0)
}

/// [`vocab`] padded with unused tokens to `size` tokens.
fn padded_vocab(size: usize) -> Vec<String> {
    let mut vocab: Vec<String> =
        SPECIALS.iter().map(|s| s.to_string()).chain(byte_chars().into_iter().map(String::from)).collect();
    let size = size.max(vocab.len().div_ceil(8) * 8);
    let unused = size - vocab.len();
    vocab.extend((0..unused).map(|i| format!("<|unused{i}|>")));
    vocab
}

/// Token id of a single byte in the tiny vocabulary.
pub fn byte_token(b: u8) -> u32 {
    SPECIALS.len() as u32 + b as u32
}

/// A SentencePiece vocabulary after `<unk>`, `<s>`, `</s>` and the 256 byte pieces:
/// pieces with their scores (higher merges first).
pub const SPM_PIECES: [(&str, f32); 22] = [
    ("▁", -1.0),
    ("h", -2.0),
    ("e", -2.0),
    ("l", -2.0),
    ("o", -2.0),
    ("w", -2.0),
    ("r", -2.0),
    ("d", -2.0),
    ("he", -3.0),
    ("ll", -3.0),
    ("llo", -4.0),
    ("hello", -5.0),
    ("▁hello", -6.0),
    ("▁h", -9.0),
    ("▁w", -7.0),
    ("or", -3.0),
    ("▁wor", -8.0),
    ("ld", -3.0),
    ("▁world", -8.5),
    ("i", -2.0),
    ("hi", -3.5),
    ("▁hi", -6.5),
];

/// Id of a SentencePiece piece in the tiny vocabulary.
pub fn spm_id(piece: &str) -> u32 {
    3 + 256 + SPM_PIECES.iter().position(|(p, _)| *p == piece).unwrap() as u32
}

fn spm_vocab() -> (Vec<String>, Vec<i32>, Vec<f32>) {
    let mut tokens: Vec<String> = vec!["<unk>".into(), "<s>".into(), "</s>".into()];
    let mut types = vec![2, 3, 3];
    tokens.extend((0..=255u8).map(|b| format!("<0x{b:02X}>")));
    types.extend([6; 256]);
    tokens.extend(SPM_PIECES.iter().map(|(p, _)| p.to_string()));
    types.extend([1; SPM_PIECES.len()]);
    let mut scores = vec![0.0; 3 + 256];
    scores.extend(SPM_PIECES.iter().map(|(_, s)| s));
    (tokens, types, scores)
}

pub fn write_tiny_model(dir: &Path, spec: &TinySpec) -> PathBuf {
    let path = dir.join(format!("tiny-{}-{:?}-{}.gguf", spec.architecture, spec.dtype, spec.seed));
    std::fs::write(&path, tiny_model_bytes(spec)).unwrap();
    path
}

/// The GGUF file of `spec`, in memory.
pub fn tiny_model_bytes(spec: &TinySpec) -> Vec<u8> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed);
    let (vocab, token_types, scores) = if spec.sentencepiece {
        spm_vocab()
    } else {
        let vocab = padded_vocab(spec.shape.vocab);
        let bytes = SPECIALS.len()..SPECIALS.len() + 256;
        let types = (0..vocab.len()).map(|i| if bytes.contains(&i) { 1 } else { 3 }).collect();
        (vocab, types, Vec::new())
    };
    let Shape { hidden, layers, heads, kv_heads, ffn, .. } = spec.shape;
    // Names and shapes from the model crate's table, in a fixed order (the random values, and
    // so the recorded references, depend on it).
    let config = ModelConfig {
        architecture: spec.architecture.into(),
        n_layers: layers,
        hidden_size: hidden,
        ffn_size: ffn,
        n_heads: heads,
        n_kv_heads: kv_heads,
        head_dim: hidden / heads,
        vocab_size: vocab.len(),
        context_length: spec.context_length as usize,
        rope_base: 10_000.0,
        rope_layout: RopeLayout::Interleaved,
        rope_scaling: RopeScaling::None,
        rms_eps: 1e-5,
        qkv_bias: spec.architecture == "qwen2",
    };
    let random = |rng: &mut rand_chacha::ChaCha8Rng, (rows, cols): (usize, usize), range: std::ops::Range<f32>| {
        let values: Vec<f32> = (0..rows * cols).map(|_| rng.random_range(range.clone())).collect();
        let shape: Vec<usize> = if rows == 1 { vec![cols] } else { vec![rows, cols] };
        Tensor::from_vec(values, shape, &Device::Cpu).unwrap()
    };
    let mut tensors: Vec<(String, Tensor)> =
        vec![(TOKEN_EMBD.into(), random(&mut rng, (config.vocab_size, hidden), -1.0..1.0))];
    for l in 0..layers {
        for t in [T::AttnQ, T::AttnK, T::AttnV, T::AttnOutput, T::FfnGate, T::FfnUp, T::FfnDown] {
            tensors.push((t.name(l), random(&mut rng, config.shape(t), -0.3..0.3)));
        }
    }
    let mut qtensors: Vec<(String, QTensor)> =
        tensors.into_iter().map(|(name, t)| (name, QTensor::quantize(&t, spec.dtype).unwrap())).collect();
    let f32 = |t: Tensor| QTensor::quantize(&t, GgmlDType::F32).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(spec.seed + 1);
    qtensors.push((OUTPUT_NORM.into(), f32(random(&mut rng, (1, hidden), 0.8..1.2))));
    for l in 0..layers {
        for t in [T::AttnNorm, T::FfnNorm] {
            qtensors.push((t.name(l), f32(random(&mut rng, config.shape(t), 0.8..1.2))));
        }
    }
    for l in 0..layers {
        for t in [T::AttnQBias, T::AttnKBias, T::AttnVBias].into_iter().filter(|&t| config.has(t)) {
            qtensors.push((t.name(l), f32(random(&mut rng, config.shape(t), -0.5..0.5))));
        }
    }
    let rope_base = if spec.llama3_rope { LLAMA3_ROPE_BASE } else { 10_000.0 };
    if spec.llama3_rope {
        let divisors = llama3_rope_divisors(hidden / heads, rope_base);
        let len = divisors.len();
        qtensors.push((ROPE_FREQS.into(), f32(Tensor::from_vec(divisors, len, &Device::Cpu).unwrap())));
    }
    let arch = spec.architecture;
    let types: Vec<Value> = token_types.into_iter().map(Value::I32).collect();
    let mut metadata: Vec<(String, Value)> = vec![
        ("general.architecture".into(), Value::String(arch.into())),
        (format!("{arch}.block_count"), Value::U32(layers as u32)),
        (format!("{arch}.context_length"), Value::U32(spec.context_length)),
        (format!("{arch}.embedding_length"), Value::U32(hidden as u32)),
        (format!("{arch}.feed_forward_length"), Value::U32(ffn as u32)),
        (format!("{arch}.attention.head_count"), Value::U32(heads as u32)),
        (format!("{arch}.attention.head_count_kv"), Value::U32(kv_heads as u32)),
        (format!("{arch}.rope.freq_base"), Value::F32(rope_base)),
        (format!("{arch}.rope.dimension_count"), Value::U32((hidden / heads) as u32)),
        (format!("{arch}.attention.layer_norm_rms_epsilon"), Value::F32(1e-5)),
        ("tokenizer.ggml.model".into(), Value::String(if spec.sentencepiece { "llama" } else { "gpt2" }.into())),
        ("tokenizer.ggml.pre".into(), Value::String(spec.pre.into())),
        ("tokenizer.ggml.tokens".into(), Value::Array(vocab.iter().map(|t| Value::String(t.clone())).collect())),
        ("tokenizer.ggml.token_type".into(), Value::Array(types)),
        ("tokenizer.ggml.merges".into(), Value::Array(vec![])),
        ("tokenizer.ggml.bos_token_id".into(), Value::U32(IM_START)),
        ("tokenizer.ggml.eos_token_id".into(), Value::U32(IM_END)),
    ];
    if spec.sentencepiece {
        metadata.push(("tokenizer.ggml.scores".into(), Value::Array(scores.into_iter().map(Value::F32).collect())));
    }
    let meta_refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = qtensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut file = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut file, &meta_refs, &tensor_refs).unwrap();
    file.into_inner()
}

/// Bytes of `text` as tiny-vocabulary tokens.
pub fn bytes(text: &str) -> Vec<u32> {
    text.bytes().map(byte_token).collect()
}
