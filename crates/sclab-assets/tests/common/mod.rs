//! A local "registry" for pip: a folder of wheels it reads through `--find-links`.

use std::io::Write;
use std::path::Path;

/// Write a well-formed wheel of `name`/`version` into `links` holding `files` (path, bytes)
/// under its module `module`; returns the wheel's file name.
pub fn write_wheel(links: &Path, name: &str, version: &str, files: &[(&str, &[u8])]) -> String {
    let module = name.replace('-', "_");
    let file_name = format!("{module}-{version}-py3-none-any.whl");
    let mut wheel = zip::ZipWriter::new(std::fs::File::create(links.join(&file_name)).unwrap());
    let stored = zip::write::SimpleFileOptions::default();
    let info = format!("{module}-{version}.dist-info");
    let metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    let tag = "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
    let dist_info = [
        (format!("{info}/METADATA"), metadata.as_bytes()),
        (format!("{info}/WHEEL"), tag.as_bytes()),
        (format!("{info}/RECORD"), &b""[..]),
    ];
    for (path, bytes) in files.iter().map(|(p, b)| (p.to_string(), *b)).chain(dist_info) {
        wheel.start_file(path, stored).unwrap();
        wheel.write_all(bytes).unwrap();
    }
    wheel.finish().unwrap();
    file_name
}

/// Make pip read only `links`.
pub fn use_only(links: &Path) {
    // SAFETY: each test binary that calls this runs one test; nothing else reads the
    // environment meanwhile.
    unsafe {
        std::env::set_var("PIP_NO_INDEX", "1");
        std::env::set_var("PIP_FIND_LINKS", links);
    }
}
