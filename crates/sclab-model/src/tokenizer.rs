//! The tokenizer rebuilt from a GGUF file's `tokenizer.ggml.*` metadata: byte-level BPE
//! (SmolLM2, Qwen2, Llama 3) or SentencePiece BPE (Llama 2 and its kin).
//!
//! The pre-tokenizer follows `tokenizer.ggml.pre`, as llama.cpp does: SmolLM splits digits one
//! by one and must not add a prefix space; Qwen2 and Llama 3 split with their own regexes.

use std::collections::HashMap;

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::replace::Replace;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, PreTokenizerWrapper, SplitDelimiterBehavior};

use crate::error::{ModelError, Result};
use crate::gguf::GgufFile;

const QWEN2_PATTERN: &str =
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const LLAMA3_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// GGUF token types: ordinary pieces, and special (control) or user-defined tokens that BPE
/// never splits.
const NORMAL: i32 = 1;
const CONTROL: i32 = 3;
const USER_DEFINED: i32 = 4;

pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    pub bos: Option<u32>,
    pub eos: u32,
}

impl Tokenizer {
    pub fn from_gguf(gguf: &GgufFile) -> Result<Self> {
        let tokens: Vec<String> = gguf
            .get_array("tokenizer.ggml.tokens")?
            .iter()
            .map(|v| v.to_string().cloned().map_err(|e| err(&e)))
            .collect::<Result<_>>()?;
        let types: Vec<i32> = match gguf.get_opt("tokenizer.ggml.token_type") {
            Some(v) => v
                .to_vec()
                .map_err(|e| err(&e))?
                .iter()
                .map(|t| t.to_i32().map_err(|e| err(&e)))
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
        let vocab: HashMap<String, u32> = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
        let mut inner = match gguf.get_str("tokenizer.ggml.model")? {
            "gpt2" => byte_level_bpe(gguf, &vocab)?,
            "llama" => sentencepiece_bpe(gguf, &tokens, &types, &vocab)?,
            other => {
                return Err(ModelError::Tokenizer(format!(
                    "tokenizer model `{other}` is not supported (byte-level BPE `gpt2`, SentencePiece BPE `llama`)"
                )))
            }
        };
        let specials: Vec<AddedToken> = types
            .iter()
            .enumerate()
            .filter(|(_, &t)| t == CONTROL || t == USER_DEFINED)
            .map(|(i, _)| AddedToken::from(tokens[i].clone(), true))
            .collect();
        inner.add_special_tokens(&specials);
        let id = |key: &str| gguf.get_opt(key).map(|_| gguf.get_usize(key).map(|v| v as u32)).transpose();
        let eos = id("tokenizer.ggml.eos_token_id")?
            .ok_or_else(|| ModelError::MissingMetadata("tokenizer.ggml.eos_token_id".into()))?;
        Ok(Self { inner, bos: id("tokenizer.ggml.bos_token_id")?, eos })
    }

    /// Token ids of `text`; special tokens written in the text (`<|im_start|>`) become their ids.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode_fast(text, false).map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Text of `ids`, special tokens included.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, false).map_err(|e| ModelError::Tokenizer(e.to_string()))
    }

    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}

fn err(e: &dyn std::fmt::Display) -> ModelError {
    ModelError::Tokenizer(e.to_string())
}

/// GPT-2 style: merges in the file, bytes mapped to printable characters.
fn byte_level_bpe(gguf: &GgufFile, vocab: &HashMap<String, u32>) -> Result<tokenizers::Tokenizer> {
    let merges: Vec<(String, String)> = gguf
        .get_array("tokenizer.ggml.merges")?
        .iter()
        .map(|v| {
            let m = v.to_string().map_err(|e| err(&e))?;
            m.split_once(' ')
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .ok_or_else(|| ModelError::Tokenizer(format!("malformed merge `{m}`")))
        })
        .collect::<Result<_>>()?;
    let bpe = BPE::builder()
        .vocab_and_merges(vocab.iter().map(|(t, &i)| (t.clone(), i)).collect::<Vocab>(), merges)
        .build()
        .map_err(|e| err(&e))?;
    let mut inner = tokenizers::Tokenizer::new(bpe);
    let pre = gguf.get_opt("tokenizer.ggml.pre").and_then(|v| v.to_string().ok()).map(String::as_str);
    inner.with_pre_tokenizer(Some(pre_tokenizer(pre.unwrap_or("default")).map_err(|e| err(&e))?));
    inner.with_decoder(Some(ByteLevel::default()));
    Ok(inner)
}

/// Llama 2 style SentencePiece: pieces with scores and no merges. As Hugging Face's converter
/// does, every piece that splits into two pieces of the vocabulary becomes a merge, ranked by
/// the piece's score; unknown bytes fall back to `<0xNN>` pieces; spaces are `▁`, with one
/// prepended to the text.
fn sentencepiece_bpe(
    gguf: &GgufFile,
    tokens: &[String],
    types: &[i32],
    vocab: &HashMap<String, u32>,
) -> Result<tokenizers::Tokenizer> {
    let scores: Vec<f32> = gguf
        .get_array("tokenizer.ggml.scores")?
        .iter()
        .map(|v| v.to_f32().map_err(|e| err(&e)))
        .collect::<Result<_>>()?;
    let mut ranked: Vec<(f32, u32, String, String)> = Vec::new();
    for (id, piece) in tokens.iter().enumerate() {
        if types.get(id).is_some_and(|&t| t != NORMAL) {
            continue;
        }
        for (split, _) in piece.char_indices().skip(1) {
            let (left, right) = piece.split_at(split);
            if vocab.contains_key(left) && vocab.contains_key(right) {
                ranked.push((scores.get(id).copied().unwrap_or(0.0), id as u32, left.to_owned(), right.to_owned()));
            }
        }
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let merges = ranked.into_iter().map(|(_, _, l, r)| (l, r)).collect();
    let mut builder = BPE::builder()
        .vocab_and_merges(vocab.iter().map(|(t, &i)| (t.clone(), i)).collect::<Vocab>(), merges)
        .byte_fallback(true);
    if vocab.contains_key("<unk>") {
        builder = builder.unk_token("<unk>".into());
    }
    let mut inner = tokenizers::Tokenizer::new(builder.build().map_err(|e| err(&e))?);
    let prefix = match gguf.get_opt("tokenizer.ggml.add_space_prefix").map(|v| v.to_bool()) {
        Some(Ok(false)) => PrependScheme::Never,
        _ => PrependScheme::First,
    };
    inner.with_pre_tokenizer(Some(Metaspace::new('▁', prefix, false)));
    // Hugging Face's Llama decoder: `▁` back to spaces, bytes back to characters, and the
    // prepended space dropped.
    let strip_prefix = usize::from(prefix == PrependScheme::First);
    inner.with_decoder(Some(DecoderSequence::new(vec![
        Replace::new("▁", " ").map_err(|e| err(&e))?.into(),
        ByteFallback::new().into(),
        Fuse::new().into(),
        Strip::new(' ', strip_prefix, 0).into(),
    ])));
    Ok(inner)
}

fn pre_tokenizer(pre: &str) -> tokenizers::Result<PreTokenizerWrapper> {
    let byte_level = |use_regex| ByteLevel::new(false, false, use_regex).into();
    let split = |pattern: &str| -> tokenizers::Result<PreTokenizerWrapper> {
        Ok(Split::new(SplitPattern::Regex(pattern.to_owned()), SplitDelimiterBehavior::Isolated, false)?.into())
    };
    Ok(match pre {
        "smollm" => Sequence::new(vec![Digits::new(true).into(), byte_level(true)]).into(),
        "qwen2" => Sequence::new(vec![split(QWEN2_PATTERN)?, byte_level(false)]).into(),
        "llama-bpe" | "llama3" => Sequence::new(vec![split(LLAMA3_PATTERN)?, byte_level(false)]).into(),
        _ => byte_level(true),
    })
}

/// Turns a stream of token ids into a stream of text pieces, holding back a piece while it
/// ends inside a multi-byte character.
pub struct TextStream<'a> {
    tokenizer: &'a Tokenizer,
    ids: Vec<u32>,
    emitted: usize,
}

impl<'a> TextStream<'a> {
    pub fn new(tokenizer: &'a Tokenizer) -> Self {
        Self { tokenizer, ids: Vec::new(), emitted: 0 }
    }

    /// The new text this token completes, if any.
    pub fn push(&mut self, id: u32) -> Result<Option<String>> {
        self.ids.push(id);
        let text = self.tokenizer.decode(&self.ids)?;
        if text.ends_with('\u{FFFD}') || text.len() <= self.emitted {
            return Ok(None);
        }
        let piece = text[self.emitted..].to_owned();
        self.emitted = text.len();
        Ok(Some(piece))
    }
}
