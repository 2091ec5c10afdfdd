//! Results files: JSON lines, a header then one line per finished item, appended and synced
//! item by item so that a killed run loses at most the item in flight.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use sclab_core::experiment::record::{Line, Results};

/// The results file at `path` (see [`Results::parse`]).
pub fn read(path: &Path) -> anyhow::Result<Results> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Results::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Append one line and make it durable before the next item starts.
pub fn append(file: &mut std::fs::File, line: &Line) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec(line)?;
    bytes.push(b'\n');
    file.write_all(&bytes)?;
    file.sync_data()?;
    Ok(())
}
