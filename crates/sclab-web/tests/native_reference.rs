//! The native engine against the recorded tiny-model references the browser test also uses.
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

#[test]
fn the_native_engine_reproduces_the_recorded_references_of_every_format() {
    let got: parity::References = parity::FORMATS
        .iter()
        .map(|&dtype| (format!("{dtype:?}"), pollster::block_on(parity::compute(&mut parity::wide_model(dtype)))))
        .collect();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tiny_reference_formats.json");
    if std::env::var_os("SCLAB_BLESS").is_some() {
        std::fs::write(&path, serde_json::to_string(&got).unwrap()).unwrap();
    }
    let want: parity::References = serde_json::from_str(parity::FORMAT_REFERENCES).unwrap();
    assert_eq!(want.len(), parity::FORMATS.len());
    for (format, want) in &want {
        assert!(want.greedy_tokens.len() >= 8, "{format}: the reference decodes a real continuation");
        parity::assert_matches(&got[format], want, 1e-6);
    }
}
