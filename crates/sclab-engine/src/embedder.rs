//! The sentence embedder for semantic clustering: all-MiniLM-L6-v2 (a 6-layer BERT) run with
//! candle-transformers' BERT, mean-pooled over the tokens and L2-normalised, as
//! sentence-transformers does for this model.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

use crate::error::{EngineError, Result};

pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const CONFIG_FILE: &str = "config.json";

pub struct SentenceEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
}

impl SentenceEmbedder {
    /// From a folder holding the model's safetensors, tokenizer.json and config.json.
    pub fn load(dir: &Path) -> Result<Self> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|source| EngineError::Io { path: dir.join(name), source })
        };
        Self::from_bytes(&read(CONFIG_FILE)?, read(TOKENIZER_FILE)?, read(WEIGHTS_FILE)?)
    }

    /// From the contents of [`CONFIG_FILE`], [`TOKENIZER_FILE`] and [`WEIGHTS_FILE`].
    pub fn from_bytes(config: &[u8], tokenizer: Vec<u8>, weights: Vec<u8>) -> Result<Self> {
        let fail = |what: &str, e: &dyn std::fmt::Display| EngineError::Embedder(format!("{what}: {e}"));
        let config: Config = serde_json::from_slice(config).map_err(|e| fail(CONFIG_FILE, &e))?;
        let mut tokenizer = Tokenizer::from_bytes(tokenizer).map_err(|e| fail(TOKENIZER_FILE, &e))?;
        // The shipped tokenizer pads every text to 128 tokens; one text at a time needs no padding.
        tokenizer.with_padding(None);
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &Device::Cpu)
            .map_err(|e| fail(WEIGHTS_FILE, &e))?;
        let model = BertModel::load(vb, &config).map_err(|e| fail(WEIGHTS_FILE, &e))?;
        Ok(Self { model, tokenizer })
    }

    /// One unit-length 384-dimensional vector per text.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        texts.iter().map(|t| self.embed_one(t)).collect()
    }

    fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        let fail = |e: &dyn std::fmt::Display| EngineError::Embedder(e.to_string());
        let encoding = self.tokenizer.encode(text, true).map_err(|e| fail(&e))?;
        let ids = encoding.get_ids();
        let input = Tensor::new(ids, &Device::Cpu).and_then(|t| t.unsqueeze(0)).map_err(|e| fail(&e))?;
        let types = input.zeros_like().map_err(|e| fail(&e))?;
        let states = self.model.forward(&input, &types, None).map_err(|e| fail(&e))?;
        let pooled: Vec<f32> =
            states.squeeze(0).and_then(|s| s.mean(0)).and_then(|s| s.to_vec1()).map_err(|e| fail(&e))?;
        let norm = pooled.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
        Ok(pooled.iter().map(|x| x / norm).collect())
    }
}

impl sclab_core::experiment::SentenceEmbedder for SentenceEmbedder {
    fn embed(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, String> {
        SentenceEmbedder::embed(self, texts).map_err(|e| e.to_string())
    }
}
