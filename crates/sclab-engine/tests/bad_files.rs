//! Broken or unsupported model files give errors that say what is wrong, never a panic.

use candle_core::quantized::GgmlDType;
use sclab_engine::{load, load_from_reader, EngineError};
use sclab_model::{GgufFile, ModelError};
use sclab_testkit::*;

fn load_err(path: &std::path::Path) -> EngineError {
    match load(path) {
        Ok(_) => panic!("{} loaded", path.display()),
        Err(e) => e,
    }
}

#[test]
fn truncated_file_is_reported_as_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tiny_model(dir.path(), &TinySpec::default());
    let bytes = std::fs::read(&path).unwrap();
    // Cut in the last tensor, in the middle, and in the header.
    let cuts = [
        (bytes.len() - 100, "tensor `blk.1.ffn_norm.weight` ends at byte"),
        (bytes.len() / 2, "ends at byte"),
        (200, "its header declares 17 metadata entries and 20 tensors, which need at least 701 bytes"),
    ];
    for (keep, expected) in cuts {
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let err = load_err(&path);
        assert!(matches!(err, EngineError::Model(ModelError::Corrupt { .. })), "cut at {keep}: {err}");
        assert!(err.to_string().contains(expected), "cut at {keep}: {err}");
    }
}

#[test]
fn wrong_magic_is_not_a_gguf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    std::fs::write(&path, b"PK\x03\x04 this is a zip, not a model").unwrap();
    let err = load_err(&path);
    assert!(matches!(err, EngineError::Model(ModelError::NotGguf { .. })), "{err}");
    assert!(err.to_string().contains("not a GGUF file"));
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(load_err(&path), EngineError::Model(ModelError::NotGguf { .. })));
}

#[test]
fn missing_file_names_the_path() {
    let err = load_err(std::path::Path::new("no/such/model.gguf"));
    assert!(matches!(err, EngineError::Model(ModelError::Io { .. })));
    assert!(err.to_string().contains("no/such/model.gguf"));
}

#[test]
fn unknown_architecture_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tiny_model(dir.path(), &TinySpec { architecture: "mamba", ..Default::default() });
    let err = load_err(&path);
    assert!(matches!(&err, EngineError::Model(ModelError::UnsupportedArchitecture(a)) if a == "mamba"), "{err}");
    assert!(err.to_string().contains("supported: llama, qwen2"));
}

#[test]
fn unsupported_tensor_type_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tiny_model(dir.path(), &TinySpec { dtype: GgmlDType::Q8_1, ..Default::default() });
    let err = load_err(&path);
    assert!(matches!(&err, EngineError::UnsupportedTensorType { dtype, .. } if dtype == "Q8_1"), "{err}");
}

/// The same checks hold for bytes that come from memory (as in the browser) rather than a file.
#[test]
fn in_memory_bytes_load_and_fail_like_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tiny_model(dir.path(), &TinySpec { dtype: GgmlDType::Q8_0, ..Default::default() });
    let bytes = std::fs::read(&path).unwrap();
    let from_memory = load_from_reader("tiny.gguf", Box::new(std::io::Cursor::new(bytes.clone()))).unwrap();
    let from_file = load(&path).unwrap();
    assert_eq!(from_memory.tokenizer.encode("hello").unwrap(), from_file.tokenizer.encode("hello").unwrap());
    assert_eq!(from_memory.backend.model().weight_macs(), from_file.backend.model().weight_macs());
    let cut = load_from_reader("cut.gguf", Box::new(std::io::Cursor::new(bytes[..bytes.len() / 2].to_vec())));
    assert!(matches!(cut, Err(EngineError::Model(ModelError::Corrupt { .. }))));
    let zip = load_from_reader("x.zip", Box::new(std::io::Cursor::new(b"PK\x03\x04".to_vec())));
    assert!(matches!(zip, Err(EngineError::Model(ModelError::NotGguf { .. }))));
}

/// A GGUF header written byte by byte, so that it can claim what no writer would.
struct Header(Vec<u8>);

impl Header {
    fn new(tensors: u64, entries: u64) -> Self {
        Self([&b"GGUF"[..], &3u32.to_le_bytes(), &tensors.to_le_bytes(), &entries.to_le_bytes()].concat())
    }
    fn u32(mut self, value: u32) -> Self {
        self.0.extend(value.to_le_bytes());
        self
    }
    fn u64(mut self, value: u64) -> Self {
        self.0.extend(value.to_le_bytes());
        self
    }
    fn string(self, text: &str) -> Self {
        let mut this = self.u64(text.len() as u64);
        this.0.extend(text.as_bytes());
        this
    }
    /// One tensor's entry in the table: name, dimensions, type F32, offset.
    fn tensor(self, name: &str, dims: &[u64]) -> Self {
        let this = self.string(name).u32(dims.len() as u32);
        dims.iter().fold(this, |this, &d| this.u64(d)).u32(0).u64(0)
    }
    fn pad(mut self, bytes: usize) -> Self {
        self.0.resize(self.0.len() + bytes, 0);
        self
    }
    fn open(self) -> Result<GgufFile, ModelError> {
        GgufFile::from_reader("claims.gguf".as_ref(), Box::new(std::io::Cursor::new(self.0)))
    }
    fn corrupt(self) -> String {
        match load_from_reader("claims.gguf", Box::new(std::io::Cursor::new(self.pad(256).0))) {
            Err(e @ EngineError::Model(ModelError::Corrupt { .. })) => e.to_string(),
            Err(e) => panic!("refused, but not as corrupt: {e}"),
            Ok(_) => panic!("loaded"),
        }
    }
}

#[test]
fn absurd_header_sizes_are_refused_before_anything_is_allocated() {
    let huge = 1u64 << 40;
    let cases = [
        (Header::new(0, 1).u64(huge), "a metadata key at byte 32 claims 1099511627776 bytes"),
        (Header::new(0, 1 << 60), "declares 1152921504606846976 metadata entries"),
        (Header::new(1 << 59, 0), "and 576460752303423488 tensors"),
        (
            Header::new(0, 1).string("tokenizer.ggml.tokens").u32(9).u32(8).u64(1 << 20),
            "an array at byte 69 claims 1048576 elements, at least 8388608 bytes",
        ),
        (
            Header::new(1, 0).tensor("token_embd.weight", &[huge]),
            "tensor `token_embd.weight` ends at byte 4398046511200",
        ),
        (
            Header::new(1, 0).tensor("token_embd.weight", &[1 << 32, 1 << 32, 1 << 32]),
            "tensor `token_embd.weight` claims shape [4294967296, 4294967296, 4294967296], more than",
        ),
        (Header::new(1, 0).tensor("output.weight", &[8, 8, 8, 8, 8]), "has 5 dimensions; GGUF allows 4"),
        (Header::new(2, 0).tensor("a", &[8]).tensor("a", &[8]), "tensor `a` is declared twice"),
        // An empty dimension does not excuse the others: loops run over them.
        (
            Header::new(1, 0).tensor("output_norm.weight", &[0, 1 << 63]),
            "claims shape [0, 9223372036854775808], more than this engine can address",
        ),
        // Counts the file could hold but no model has: candle keeps a value per element.
        (Header::new(1 << 17, 0).pad(4 << 20), "this engine reads at most 65536 and 65536"),
        (
            Header::new(0, 1).string("tokenizer.ggml.scores").u32(9).u32(0).u64((1 << 24) + 1).pad((1 << 24) + 1),
            "its metadata arrays hold more than 16777216 elements",
        ),
    ];
    for (header, expected) in cases {
        let err = header.corrupt();
        assert!(err.contains(expected), "{err}\nexpected: {expected}");
    }
}

/// candle divides by the declared alignment: 0 must be refused before it reads the header.
#[test]
fn an_alignment_that_is_no_power_of_two_is_refused() {
    for (value_type, value) in [(4u32, 0u32), (4, 24), (0, 0)] {
        let header = Header::new(0, 1).string("general.alignment").u32(value_type);
        let header = if value_type == 0 { Header([header.0, vec![value as u8]].concat()) } else { header.u32(value) };
        let err = header.corrupt();
        assert!(err.contains(&format!("general.alignment is {value}, not a power of two")), "{err}");
    }
    // As candle reads it: the last entry counts, and one of a type it does not take means 32.
    let entry = |header: Header, value_type: u32| header.string("general.alignment").u32(value_type);
    let last_wins = entry(entry(Header::new(0, 2), 4).u32(0), 10).u64(64).open().unwrap();
    assert_eq!(last_wins.content.tensor_data_offset, 96);
    let declared = entry(Header::new(0, 1), 4).u32(64).open().unwrap();
    assert_eq!(declared.content.tensor_data_offset, 64);
}

/// GGUF version 1 counts and lengths are 32 bits wide.
#[test]
fn a_version_1_header_is_read_with_its_narrow_counts() {
    let header = [&b"GGUF"[..], &1u32.to_le_bytes(), &0u32.to_le_bytes(), &(1u32 << 31).to_le_bytes()].concat();
    let err = Header(header).corrupt();
    assert!(err.contains("declares 2147483648 metadata entries and 0 tensors"), "{err}");
}

/// The layer count sizes allocations before any layer's tensors are looked up: one beyond the
/// file's tensors is refused (it aborted on allocating 2^32 layers).
#[test]
fn a_layer_count_beyond_the_tensors_is_refused() {
    let mut bytes = tiny_model_bytes(&TinySpec::default());
    let key = b"llama.block_count";
    let value = bytes.windows(key.len()).position(|w| w == key).unwrap() + key.len() + 4; // after its type
    bytes[value..value + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    match load_from_reader("layers.gguf", Box::new(std::io::Cursor::new(bytes))) {
        Err(e) => assert!(e.to_string().contains("it declares 4294967295 layers but holds"), "{e}"),
        Ok(_) => panic!("loaded"),
    }
}

/// Norm weights are walked by the model's width: one of another length is refused at load
/// (an empty one panicked in the first forward pass).
#[test]
fn a_norm_of_the_wrong_length_is_refused() {
    for length in [32u64, 0] {
        let mut bytes = tiny_model_bytes(&TinySpec::default());
        let name = b"blk.0.attn_norm.weight";
        let dim = bytes.windows(name.len()).position(|w| w == name).unwrap() + name.len() + 4; // after n_dims
        bytes[dim..dim + 8].copy_from_slice(&length.to_le_bytes());
        match load_from_reader("norm.gguf", Box::new(std::io::Cursor::new(bytes))) {
            Err(e) => assert!(
                e.to_string()
                    .contains(&format!("blk.0.attn_norm.weight`: {length} values where the metadata implies 64")),
                "{e}"
            ),
            Ok(_) => panic!("loaded with a norm of {length}"),
        }
    }
}

/// RoPE divisors are one per frequency pair: another length is refused before it is read, and
/// a divisor that is not a positive number is refused too.
#[test]
fn rope_divisors_of_the_wrong_length_or_sign_are_refused() {
    let spec = TinySpec { llama3_rope: true, ..Default::default() };
    let mut bytes = tiny_model_bytes(&spec);
    let name = b"rope_freqs.weight";
    let dim = bytes.windows(name.len()).position(|w| w == name).unwrap() + name.len() + 4; // after n_dims
    bytes[dim..dim + 8].copy_from_slice(&3u64.to_le_bytes());
    match load_from_reader("rope.gguf", Box::new(std::io::Cursor::new(bytes))) {
        Err(e) => {
            assert!(e.to_string().contains("rope_freqs.weight`: shape 1×3 where a head of 16 implies 1×8"), "{e}")
        }
        Ok(_) => panic!("loaded"),
    }
    let mut bytes = tiny_model_bytes(&spec);
    let first = llama3_rope_divisors(HIDDEN / HEADS, LLAMA3_ROPE_BASE)[0].to_le_bytes();
    let at = bytes.len() - bytes.windows(4).rev().position(|w| w == first).unwrap() - 4;
    bytes[at..at + 4].copy_from_slice(&(-1f32).to_le_bytes());
    match load_from_reader("rope.gguf", Box::new(std::io::Cursor::new(bytes))) {
        Err(e) => assert!(e.to_string().contains("a frequency divisor of -1"), "{e}"),
        Ok(_) => panic!("loaded with a negative divisor"),
    }
}
