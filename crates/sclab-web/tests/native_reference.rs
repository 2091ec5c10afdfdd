//! The native engine against the recorded tiny-model reference the browser test also uses.
#![cfg(not(target_arch = "wasm32"))]

mod parity;

#[test]
fn the_native_engine_reproduces_the_recorded_reference() {
    let got = pollster::block_on(parity::compute(&mut parity::tiny_model()));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tiny_reference.json");
    if std::env::var_os("SCLAB_BLESS").is_some() {
        std::fs::write(&path, serde_json::to_string(&got).unwrap()).unwrap();
    }
    let want: parity::Reference = serde_json::from_str(parity::REFERENCE).unwrap();
    assert!(got.greedy_tokens.len() >= 8, "the reference decodes a real continuation");
    parity::assert_matches(&got, &want, 1e-6);
}
