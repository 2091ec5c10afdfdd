//! Results files: JSON lines, a header then one line per finished item, appended and synced
//! item by item so that a killed run loses at most the item in flight.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use sclab_core::experiment::record::{Header, ItemRecord, Line};

pub struct ResultsFile {
    pub header: Header,
    pub items: Vec<ItemRecord>,
    /// Bytes of whole, valid lines; anything after them is a line cut short by a crash.
    pub valid_len: u64,
}

pub fn read(path: &Path) -> anyhow::Result<ResultsFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut header = None;
    let mut items = Vec::new();
    let mut valid_len = 0u64;
    let mut offset = 0usize;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        offset += line.len();
        let complete = line.ends_with('\n');
        match serde_json::from_str::<Line>(line.trim_end()) {
            Ok(Line::Header(h)) if i == 0 => {
                h.check_version().map_err(anyhow::Error::msg).with_context(|| path.display().to_string())?;
                header = Some(*h);
            }
            Ok(Line::Header(_)) => bail!("{}: line {} is a second header", path.display(), i + 1),
            Ok(Line::Item(_)) if i == 0 => bail!("{}: the first line is not a results header", path.display()),
            Ok(Line::Item(item)) if complete => items.push(item),
            // The last line of a run killed while writing: ignored, and overwritten on resume.
            _ if offset == text.len() && i > 0 => break,
            Ok(Line::Item(_)) => bail!("{}: line {} is cut short", path.display(), i + 1),
            Err(e) => bail!("{}: line {} is not a results line: {e}", path.display(), i + 1),
        }
        valid_len = offset as u64;
    }
    let header = header.with_context(|| format!("{} holds no results header", path.display()))?;
    Ok(ResultsFile { header, items, valid_len })
}

/// Append one line and make it durable before the next item starts.
pub fn append(file: &mut std::fs::File, line: &Line) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec(line)?;
    bytes.push(b'\n');
    file.write_all(&bytes)?;
    file.sync_data()?;
    Ok(())
}
