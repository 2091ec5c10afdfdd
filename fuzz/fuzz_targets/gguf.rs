//! A model file as a visitor picks it: header, metadata, tensor table, the tokenizer and chat
//! template built from the metadata, and one forward pass of whatever loads.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sclab_core::{Backend, ForwardRequest, LogitPositions};
use sclab_engine::load_from_reader;
use sclab_model::Message;

fuzz_target!(|data: &[u8]| {
    let Ok(mut model) = load_from_reader("fuzz.gguf", Box::new(std::io::Cursor::new(data.to_vec()))) else {
        return;
    };
    if let Ok(ids) = model.tokenizer.encode("Hello, world! 123 <|im_start|>") {
        let _ = model.tokenizer.decode(&ids);
    }
    let Ok(tokens) = model.chat_tokens(&[Message::user("Hi")]) else { return };
    let seq = model.backend.new_sequence();
    let request = ForwardRequest { seq, tokens, logits: LogitPositions::All, hidden: true };
    let _ = pollster::block_on(model.backend.forward(&[request]));
});
