//! Loading a model file into a ready-to-run backend, tokenizer and chat template.

use std::path::Path;
use std::sync::Arc;

use sclab_model::{ChatTemplate, GgufFile, Message, ModelError, Source, Tokenizer};

use crate::cpu_backend::CpuBackend;
use crate::error::{EngineError, Result};
use crate::llama::LlamaModel;

/// Tokens that end an assistant turn in the chat formats we know, when the vocabulary has them.
const TURN_END_TOKENS: [&str; 3] = ["<|im_end|>", "<|endoftext|>", "<|eot_id|>"];

pub struct LoadedModel {
    pub backend: CpuBackend,
    pub tokenizer: Tokenizer,
    pub template: ChatTemplate,
}

pub fn load(path: &Path) -> Result<LoadedModel> {
    load_gguf(GgufFile::open(path)?)
}

/// A model whose GGUF bytes come from `reader` (a buffer, a browser file); `name` stands for
/// it in error messages.
pub fn load_from_reader(name: &str, reader: Box<dyn Source>) -> Result<LoadedModel> {
    load_gguf(GgufFile::from_reader(Path::new(name), reader)?)
}

/// The model of an opened GGUF file.
pub fn load_gguf(mut gguf: GgufFile) -> Result<LoadedModel> {
    let path = gguf.path().to_owned();
    let tokenizer = Tokenizer::from_gguf(&gguf)?;
    let template = ChatTemplate::from_gguf(&gguf)?;
    let model = LlamaModel::load(&mut gguf)?;
    if tokenizer.vocab_size() > model.config.vocab_size {
        let detail = "the tokenizer has more tokens than the embedding".into();
        return Err(ModelError::Corrupt { path, detail }.into());
    }
    let mut stop: Vec<u32> = TURN_END_TOKENS.iter().filter_map(|t| tokenizer.token_id(t)).collect();
    if !stop.contains(&tokenizer.eos) {
        stop.push(tokenizer.eos);
    }
    Ok(LoadedModel { backend: CpuBackend::new(Arc::new(model), stop), tokenizer, template })
}

impl LoadedModel {
    /// Token ids of a chat, opened for the assistant's answer; refuses an empty prompt and one
    /// that leaves no room in the context for an answer.
    pub fn chat_tokens(&self, messages: &[Message]) -> Result<Vec<u32>> {
        if messages.iter().all(|m| m.content.trim().is_empty()) {
            return Err(EngineError::EmptyPrompt);
        }
        let text = self.template.render(messages, true)?;
        let tokens = self.tokenizer.encode(&text)?;
        let limit = sclab_core::Backend::info(&self.backend).context_length;
        if tokens.len() >= limit {
            return Err(EngineError::PromptTooLong { tokens: tokens.len(), limit });
        }
        Ok(tokens)
    }
}
