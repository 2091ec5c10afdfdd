//! The tokenizer built from a GGUF's `tokenizer.ggml.*` metadata, whatever vocabulary, merges
//! and pre-tokenizer a file declares, then used on text. The input's first byte picks the model
//! kind and pre-tokenizer; the rest holds tokens, merges and a text, separated by NUL bytes.
#![no_main]

use candle_core::quantized::gguf_file::{self, Value};
use libfuzzer_sys::fuzz_target;
use sclab_model::{GgufFile, Tokenizer};

const PRE: [&str; 5] = ["smollm", "llama-bpe", "qwen2", "default", "gpt-2"];

fn strings(text: &str) -> Value {
    Value::Array(text.split('\n').map(|t| Value::String(t.to_owned())).collect())
}

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.splitn(3, '\0');
    let (tokens, merges, input) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let count = tokens.split('\n').count();
    let model = if choice & 1 == 0 { "gpt2" } else { "llama" };
    let metadata = [
        ("tokenizer.ggml.model", Value::String(model.into())),
        ("tokenizer.ggml.pre", Value::String(PRE[usize::from(choice >> 1) % PRE.len()].into())),
        ("tokenizer.ggml.tokens", strings(tokens)),
        ("tokenizer.ggml.merges", strings(merges)),
        ("tokenizer.ggml.scores", Value::Array((0..count).map(|i| Value::F32(-(i as f32))).collect())),
        ("tokenizer.ggml.token_type", Value::Array((0..count).map(|i| Value::I32(1 + (i % 6) as i32)).collect())),
        ("tokenizer.ggml.eos_token_id", Value::U32(u32::from(choice >> 4))),
        ("tokenizer.ggml.add_space_prefix", Value::Bool(choice & 0x80 != 0)),
    ];
    let refs: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let mut file = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut file, &refs, &[]).expect("writes to memory");
    let gguf = GgufFile::from_reader("fuzz.gguf".as_ref(), Box::new(std::io::Cursor::new(file.into_inner())))
        .expect("a well-formed GGUF");
    let Ok(tokenizer) = Tokenizer::from_gguf(&gguf) else { return };
    if let Ok(ids) = tokenizer.encode(input) {
        let _ = tokenizer.decode(&ids);
    }
});
