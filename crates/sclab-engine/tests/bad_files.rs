//! Broken or unsupported model files give errors that say what is wrong, never a panic.

use candle_core::quantized::GgmlDType;
use sclab_engine::{load, load_from_reader, EngineError};
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
    for keep in [bytes.len() - 100, bytes.len() / 2, 200] {
        std::fs::write(&path, &bytes[..keep]).unwrap();
        let err = load_err(&path);
        assert!(matches!(err, EngineError::Corrupt { .. }), "cut at {keep}: {err}");
        assert!(err.to_string().contains("truncated or corrupt"), "{err}");
    }
}

#[test]
fn wrong_magic_is_not_a_gguf() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    std::fs::write(&path, b"PK\x03\x04 this is a zip, not a model").unwrap();
    let err = load_err(&path);
    assert!(matches!(err, EngineError::NotGguf { .. }), "{err}");
    assert!(err.to_string().contains("not a GGUF file"));
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(load_err(&path), EngineError::NotGguf { .. }));
}

#[test]
fn missing_file_names_the_path() {
    let err = load_err(std::path::Path::new("no/such/model.gguf"));
    assert!(matches!(err, EngineError::Io { .. }));
    assert!(err.to_string().contains("no/such/model.gguf"));
}

#[test]
fn unknown_architecture_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_tiny_model(dir.path(), &TinySpec { architecture: "mamba", ..Default::default() });
    let err = load_err(&path);
    assert!(matches!(&err, EngineError::UnsupportedArchitecture(a) if a == "mamba"), "{err}");
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
    assert!(matches!(cut, Err(EngineError::Corrupt { .. })));
    let zip = load_from_reader("x.zip", Box::new(std::io::Cursor::new(b"PK\x03\x04".to_vec())));
    assert!(matches!(zip, Err(EngineError::NotGguf { .. })));
}
