//! The tensors of a Llama / Qwen2 model file by GGUF name: the one table that the CPU engine,
//! the GPU backend and the testkit's tiny models read. The shapes the hyper-parameters imply,
//! and the check of a file against them, are `ModelConfig`'s (config.rs).

pub const TOKEN_EMBD: &str = "token_embd.weight";
/// The output head; a file without it ties the head to [`TOKEN_EMBD`].
pub const OUTPUT: &str = "output.weight";
pub const OUTPUT_NORM: &str = "output_norm.weight";
/// Llama 3.x's per-frequency RoPE divisors (optional; see `rope::RopeScaling`).
pub const ROPE_FREQS: &str = "rope_freqs.weight";

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

    /// Qwen2's q, k and v biases, which Llama files do not hold.
    pub fn is_bias(self) -> bool {
        matches!(self, Self::AttnQBias | Self::AttnKBias | Self::AttnVBias)
    }
}
