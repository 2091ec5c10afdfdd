//! The tensors of a Llama / Qwen2 model file by GGUF name, with the shape its hyper-parameters
//! imply: the one table that the CPU engine, the GPU backend and the testkit's tiny models read.
//! [`check`] holds a file to it before either engine allocates anything.

use crate::config::ModelConfig;
use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

pub const TOKEN_EMBD: &str = "token_embd.weight";
/// The output head; a file without it ties the head to [`TOKEN_EMBD`].
pub const OUTPUT: &str = "output.weight";
pub const OUTPUT_NORM: &str = "output_norm.weight";

/// A tensor of each layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerTensor {
    AttnNorm,
    AttnQ,
    AttnK,
    AttnV,
    /// Qwen2's q, k and v biases.
    AttnQBias,
    AttnKBias,
    AttnVBias,
    AttnOutput,
    FfnNorm,
    FfnGate,
    FfnUp,
    FfnDown,
}

impl LayerTensor {
    pub const ALL: [LayerTensor; 12] = [
        Self::AttnNorm,
        Self::AttnQ,
        Self::AttnK,
        Self::AttnV,
        Self::AttnQBias,
        Self::AttnKBias,
        Self::AttnVBias,
        Self::AttnOutput,
        Self::FfnNorm,
        Self::FfnGate,
        Self::FfnUp,
        Self::FfnDown,
    ];

    fn suffix(self) -> &'static str {
        match self {
            Self::AttnNorm => "attn_norm.weight",
            Self::AttnQ => "attn_q.weight",
            Self::AttnK => "attn_k.weight",
            Self::AttnV => "attn_v.weight",
            Self::AttnQBias => "attn_q.bias",
            Self::AttnKBias => "attn_k.bias",
            Self::AttnVBias => "attn_v.bias",
            Self::AttnOutput => "attn_output.weight",
            Self::FfnNorm => "ffn_norm.weight",
            Self::FfnGate => "ffn_gate.weight",
            Self::FfnUp => "ffn_up.weight",
            Self::FfnDown => "ffn_down.weight",
        }
    }

    /// Its name in layer `layer`.
    pub fn name(self, layer: usize) -> String {
        format!("blk.{layer}.{}", self.suffix())
    }

    /// `(rows, cols)` in a model of `config`; a vector is one row.
    pub fn shape(self, config: &ModelConfig) -> (usize, usize) {
        let (d, kv, f) = (config.hidden_size, config.kv_dim(), config.ffn_size);
        match self {
            Self::AttnNorm | Self::FfnNorm | Self::AttnQBias => (1, d),
            Self::AttnKBias | Self::AttnVBias => (1, kv),
            Self::AttnQ | Self::AttnOutput => (d, d),
            Self::AttnK | Self::AttnV => (kv, d),
            Self::FfnGate | Self::FfnUp => (f, d),
            Self::FfnDown => (d, f),
        }
    }

    /// Whether a model of `config` has it: the biases only where the architecture adds them.
    pub fn present(self, config: &ModelConfig) -> bool {
        config.qkv_bias || !matches!(self, Self::AttnQBias | Self::AttnKBias | Self::AttnVBias)
    }
}

/// Every tensor the forward pass reads, with its shape `(rows, cols)`.
pub fn expected(config: &ModelConfig, tied_head: bool) -> Vec<(String, (usize, usize))> {
    let (vocab, d) = (config.vocab_size, config.hidden_size);
    let mut all = vec![(TOKEN_EMBD.to_owned(), (vocab, d)), (OUTPUT_NORM.to_owned(), (1, d))];
    if !tied_head {
        all.push((OUTPUT.to_owned(), (vocab, d)));
    }
    for layer in 0..config.n_layers {
        let present = LayerTensor::ALL.into_iter().filter(|t| t.present(config));
        all.extend(present.map(|t| (t.name(layer), t.shape(config))));
    }
    all
}

/// Every tensor of [`expected`] is in `gguf` with its shape: the forward passes walk them by the
/// model's widths, so a tensor of another shape would read out of bounds or panic later.
pub fn check(gguf: &GgufFile, config: &ModelConfig) -> Result<()> {
    for (name, (rows, cols)) in expected(config, !gguf.has_tensor(OUTPUT)) {
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
