//! Hyper-parameters of a Llama-family model, read from GGUF metadata.

use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;
use crate::rope::{inverse_frequencies, RopeLayout, RopeScaling};
use crate::tensors::{LayerTensor, OUTPUT, OUTPUT_NORM, ROPE_FREQS, TOKEN_EMBD};

#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    pub architecture: String,
    pub n_layers: usize,
    pub hidden_size: usize,
    pub ffn_size: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub vocab_size: usize,
    pub context_length: usize,
    pub rope_base: f32,
    pub rope_layout: RopeLayout,
    pub rope_scaling: RopeScaling,
    pub rms_eps: f32,
    /// Qwen2 adds biases to the q, k and v projections.
    pub qkv_bias: bool,
}

impl ModelConfig {
    /// The file's hyper-parameters, with every tensor checked against the shape they imply
    /// before either engine allocates anything.
    pub fn from_gguf(gguf: &mut GgufFile) -> Result<Self> {
        let mut config = Self::from_metadata(gguf)?;
        config.check_tensors(gguf)?;
        config.rope_scaling = rope_scaling(gguf, &config.architecture, config.head_dim)?;
        Ok(config)
    }

    /// The RoPE frequencies both engines rotate by, scaled as the file says.
    pub fn rope_frequencies(&self) -> Vec<f32> {
        inverse_frequencies(self.head_dim, self.rope_base, &self.rope_scaling)
    }

    /// `(rows, cols)` of `tensor`; a vector is one row.
    pub fn shape(&self, tensor: LayerTensor) -> (usize, usize) {
        let (d, kv, f) = (self.hidden_size, self.kv_dim(), self.ffn_size);
        match tensor {
            LayerTensor::AttnNorm | LayerTensor::FfnNorm | LayerTensor::AttnQBias => (1, d),
            LayerTensor::AttnKBias | LayerTensor::AttnVBias => (1, kv),
            LayerTensor::AttnQ | LayerTensor::AttnOutput => (d, d),
            LayerTensor::AttnK | LayerTensor::AttnV => (kv, d),
            LayerTensor::FfnGate | LayerTensor::FfnUp => (f, d),
            LayerTensor::FfnDown => (d, f),
        }
    }

    /// Whether this model has `tensor`: the biases only where the architecture adds them.
    pub fn has(&self, tensor: LayerTensor) -> bool {
        self.qkv_bias || !tensor.is_bias()
    }

    /// Every tensor the forward pass reads, with its shape `(rows, cols)`.
    pub fn expected_tensors(&self, tied_head: bool) -> Vec<(String, (usize, usize))> {
        let (vocab, d) = (self.vocab_size, self.hidden_size);
        let mut all = vec![(TOKEN_EMBD.to_owned(), (vocab, d)), (OUTPUT_NORM.to_owned(), (1, d))];
        if !tied_head {
            all.push((OUTPUT.to_owned(), (vocab, d)));
        }
        for layer in 0..self.n_layers {
            let present = LayerTensor::ALL.into_iter().filter(|&t| self.has(t));
            all.extend(present.map(|t| (t.name(layer), self.shape(t))));
        }
        all
    }

    /// Every tensor of [`expected_tensors`](Self::expected_tensors) is in `gguf` with its shape:
    /// the forward passes walk them by the model's widths, so a tensor of another shape would
    /// read out of bounds or panic later.
    fn check_tensors(&self, gguf: &GgufFile) -> Result<()> {
        for (name, (rows, cols)) in self.expected_tensors(!gguf.has_tensor(OUTPUT)) {
            let (_, found_rows, found_cols) = gguf.tensor_shape(&name)?;
            if (found_rows, found_cols) == (rows, cols) {
                continue;
            }
            let detail = if rows == 1 && found_rows == 1 {
                format!("{found_cols} values where the metadata implies {cols}")
            } else {
                format!("shape {found_rows}×{found_cols} where the metadata implies {rows}×{cols}")
            };
            return Err(ModelError::BadTensor { tensor: name, detail });
        }
        Ok(())
    }

    fn from_metadata(gguf: &GgufFile) -> Result<Self> {
        let architecture = gguf.get_str("general.architecture")?.to_owned();
        let (rope_layout, qkv_bias) = match architecture.as_str() {
            "llama" => (RopeLayout::Interleaved, false),
            "qwen2" => (RopeLayout::Halves, true),
            _ => return Err(ModelError::UnsupportedArchitecture(architecture)),
        };
        let key = |k: &str| format!("{architecture}.{k}");
        let hidden_size = gguf.get_usize(&key("embedding_length"))?;
        let n_heads = gguf.get_usize(&key("attention.head_count"))?;
        let n_kv_heads = match gguf.get_opt(&key("attention.head_count_kv")) {
            Some(_) => gguf.get_usize(&key("attention.head_count_kv"))?,
            None => n_heads,
        };
        if n_heads == 0 || n_kv_heads == 0 || hidden_size % n_heads != 0 || n_heads % n_kv_heads != 0 {
            return Err(ModelError::Corrupt {
                path: gguf.path().to_owned(),
                detail: format!(
                    "inconsistent head counts: {n_heads} heads, {n_kv_heads} kv heads, width {hidden_size}"
                ),
            });
        }
        if (hidden_size / n_heads) % 16 != 0 {
            return Err(ModelError::UnsupportedArchitecture(format!(
                "{architecture} with a head size of {} (the attention kernel needs a multiple of 16)",
                hidden_size / n_heads
            )));
        }
        if gguf.get_opt(&key("rope.dimension_count")).is_some() {
            let rotated = gguf.get_usize(&key("rope.dimension_count"))?;
            if rotated != hidden_size / n_heads {
                return Err(ModelError::UnsupportedArchitecture(format!(
                    "{architecture} with partial rotary embeddings ({rotated} of {} dimensions)",
                    hidden_size / n_heads
                )));
            }
        }
        // Each layer has tensors of its own: a count beyond the file's tensors is damage, and
        // would size allocations before any tensor is looked up.
        let n_layers = gguf.get_usize(&key("block_count"))?;
        let tensors = gguf.content.tensor_infos.len();
        if n_layers == 0 || n_layers > tensors {
            return Err(ModelError::Corrupt {
                path: gguf.path().to_owned(),
                detail: format!("it declares {n_layers} layers but holds {tensors} tensors"),
            });
        }
        let vocab_size = gguf.get_array("tokenizer.ggml.tokens")?.len();
        let rope_base = match gguf.get_opt(&key("rope.freq_base")) {
            Some(_) => gguf.get_f32(&key("rope.freq_base"))?,
            None => 10_000.0,
        };
        Ok(Self {
            n_layers,
            ffn_size: gguf.get_usize(&key("feed_forward_length"))?,
            context_length: gguf.get_usize(&key("context_length"))?,
            rms_eps: gguf.get_f32(&key("attention.layer_norm_rms_epsilon"))?,
            head_dim: hidden_size / n_heads,
            hidden_size,
            n_heads,
            n_kv_heads,
            vocab_size,
            rope_base,
            rope_layout,
            rope_scaling: RopeScaling::None,
            qkv_bias,
            architecture,
        })
    }

    pub fn kv_dim(&self) -> usize {
        self.n_kv_heads * self.head_dim
    }
}

/// The file's RoPE scaling: `rope_freqs.weight` (one positive divisor per frequency, checked
/// for its length before it is read), else `rope.scaling.type` none or linear; YaRN and other
/// kinds are refused by name.
fn rope_scaling(gguf: &mut GgufFile, architecture: &str, head_dim: usize) -> Result<RopeScaling> {
    if gguf.has_tensor(ROPE_FREQS) {
        let bad = |detail: String| ModelError::BadTensor { tensor: ROPE_FREQS.to_owned(), detail };
        let (_, rows, cols) = gguf.tensor_shape(ROPE_FREQS)?;
        if (rows, cols) != (1, head_dim / 2) {
            return Err(bad(format!("shape {rows}×{cols} where a head of {head_dim} implies 1×{}", head_dim / 2)));
        }
        let divisors = gguf.vector(ROPE_FREQS)?;
        if let Some(d) = divisors.iter().find(|d| !(d.is_finite() && **d > 0.0)) {
            return Err(bad(format!("a frequency divisor of {d}")));
        }
        return Ok(RopeScaling::PerFrequency(divisors));
    }
    let kind = format!("{architecture}.rope.scaling.type");
    if gguf.get_opt(&kind).is_none() {
        return Ok(RopeScaling::None);
    }
    match gguf.get_str(&kind)? {
        "none" => Ok(RopeScaling::None),
        "linear" => {
            let key = format!("{architecture}.rope.scaling.factor");
            let factor = gguf.get_f32(&key)?;
            if !(factor.is_finite() && factor > 0.0) {
                let detail = format!("metadata `{key}`: a factor of {factor}");
                return Err(ModelError::Corrupt { path: gguf.path().to_owned(), detail });
            }
            Ok(RopeScaling::Linear(factor))
        }
        other => Err(ModelError::UnsupportedArchitecture(format!("{architecture} with {other} RoPE scaling"))),
    }
}
