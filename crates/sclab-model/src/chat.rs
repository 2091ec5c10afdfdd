//! The chat template stored in the model file, rendered with minijinja; ChatML when a file
//! carries none.

use serde::{Deserialize, Serialize};

use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self { role: role.to_owned(), content: content.into() }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }
    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

pub struct ChatTemplate {
    env: minijinja::Environment<'static>,
    /// The vocabulary's begin- and end-of-text tokens, which templates such as Llama 3's write
    /// themselves (`{{ bos_token }}`).
    bos_token: String,
    eos_token: String,
}

impl ChatTemplate {
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let source = gguf
            .get_opt("tokenizer.chat_template")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_else(|| CHATML.to_owned());
        let token = |key: &str| -> Option<String> {
            let id = gguf.get_usize(key).ok()?;
            gguf.get_array("tokenizer.ggml.tokens").ok()?.get(id)?.to_string().ok().cloned()
        };
        let mut template = Self::new(source)?;
        template.bos_token = token("tokenizer.ggml.bos_token_id").unwrap_or_default();
        template.eos_token = token("tokenizer.ggml.eos_token_id").unwrap_or_default();
        Ok(template)
    }

    /// `source` with these special tokens (the file's, in [`from_gguf`](Self::from_gguf)).
    pub fn with_special_tokens(source: String, bos_token: &str, eos_token: &str) -> Result<Self> {
        Ok(Self { bos_token: bos_token.to_owned(), eos_token: eos_token.to_owned(), ..Self::new(source)? })
    }

    pub fn new(source: String) -> Result<Self> {
        let mut env = minijinja::Environment::new();
        env.add_function("raise_exception", |msg: String| -> std::result::Result<String, minijinja::Error> {
            Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg))
        });
        env.add_template_owned("chat", source).map_err(|e| ModelError::Template(e.to_string()))?;
        Ok(Self { env, bos_token: String::new(), eos_token: String::new() })
    }

    /// The prompt text of `messages`, ending with the opening of an assistant turn if asked.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let template = self.env.get_template("chat").map_err(|e| ModelError::Template(e.to_string()))?;
        template
            .render(minijinja::context! {
                messages => messages,
                add_generation_prompt => add_generation_prompt,
                bos_token => self.bos_token,
                eos_token => self.eos_token,
            })
            .map_err(|e| ModelError::Template(e.to_string()))
    }

    /// The text that takes a cached conversation (`cached`, rendered with a generation prompt,
    /// followed by the assistant's answer `answer`) to `next` (rendered with a generation
    /// prompt): what a new turn appends to the KV cache without re-prefilling the history.
    pub fn continuation(&self, cached: &[Message], answer: &str, next: &[Message]) -> Result<String> {
        let before = self.render(cached, true)? + answer;
        let after = self.render(next, true)?;
        after.strip_prefix(&before).map(str::to_owned).ok_or_else(|| {
            ModelError::Template(
                "the template re-renders earlier turns differently, so turns cannot be appended".into(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_renders_turns_and_generation_prompt() {
        let t = ChatTemplate::new(CHATML.to_owned()).unwrap();
        let text = t.render(&[Message::user("Hi")], true).unwrap();
        assert_eq!(text, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    #[test]
    fn continuation_appends_only_the_new_turn() {
        let t = ChatTemplate::new(CHATML.to_owned()).unwrap();
        let first = [Message::user("Hi")];
        let next = [Message::user("Hi"), Message::assistant("Hello!"), Message::user("Again")];
        let delta = t.continuation(&first, "Hello!", &next).unwrap();
        assert_eq!(delta, "<|im_end|>\n<|im_start|>user\nAgain<|im_end|>\n<|im_start|>assistant\n");
    }

    /// Llama 3.x's template as its GGUF files carry it: the begin-of-text token written by the
    /// template, headers per turn, content trimmed.
    const LLAMA3: &str = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}";

    #[test]
    fn llama3_renders_with_its_begin_of_text_token_and_appends_turns() {
        let t = ChatTemplate::with_special_tokens(LLAMA3.to_owned(), "<|begin_of_text|>", "<|eot_id|>").unwrap();
        let first = [Message::user(" Hi ")];
        assert_eq!(
            t.render(&first, true).unwrap(),
            "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n"
        );
        let next = [Message::user(" Hi "), Message::assistant("Hello!"), Message::user("Again")];
        assert_eq!(
            t.continuation(&first, "Hello!", &next).unwrap(),
            "<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAgain<|eot_id|>\
             <|start_header_id|>assistant<|end_header_id|>\n\n"
        );
    }

    #[test]
    fn template_errors_are_reported() {
        assert!(matches!(ChatTemplate::new("{% for %}".into()), Err(ModelError::Template(_))));
    }
}
