//! The protocol's view of a model's chat format: turns to tokens through the file's own
//! chat template and tokenizer.

use sclab_core::protocol::{ChatFormat, ProtocolError};

use crate::chat::{ChatTemplate, Message};
use crate::tokenizer::Tokenizer;

pub struct ChatCodec<'a> {
    pub tokenizer: &'a Tokenizer,
    pub template: &'a ChatTemplate,
}

fn format_error(e: crate::ModelError) -> ProtocolError {
    ProtocolError::Format(e.to_string())
}

impl ChatFormat for ChatCodec<'_> {
    fn open(&self, user: &str, answer_prefix: &str) -> Result<Vec<u32>, ProtocolError> {
        let text = self.template.render(&[Message::user(user)], true).map_err(format_error)? + answer_prefix;
        self.encode(&text)
    }

    fn next(&self, history: &[(String, String)], user: &str, answer_prefix: &str) -> Result<Vec<u32>, ProtocolError> {
        let Some(((last_user, last_answer), earlier)) = history.split_last() else {
            return self.open(user, answer_prefix);
        };
        let mut cached: Vec<Message> =
            earlier.iter().flat_map(|(u, a)| [Message::user(u.clone()), Message::assistant(a.clone())]).collect();
        cached.push(Message::user(last_user.clone()));
        let mut next = cached.clone();
        next.push(Message::assistant(last_answer.clone()));
        next.push(Message::user(user));
        let delta = self.template.continuation(&cached, last_answer, &next).map_err(format_error)?;
        self.encode(&(delta + answer_prefix))
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>, ProtocolError> {
        self.tokenizer.encode(text).map_err(format_error)
    }

    fn decode(&self, tokens: &[u32]) -> Result<String, ProtocolError> {
        self.tokenizer.decode(tokens).map_err(format_error)
    }
}
