//! `sclab merge`: join the shard files of one run (`sclab run --shard k/n`) into the file an
//! unsharded run writes: the shared header, then every item in the run's seeded order.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use sclab_assets::Cache;
use sclab_core::experiment::ExperimentConfig;
use sclab_core::tasks::load_items;
use serde_json::Value;

use crate::lab::{dataset_rows, write_atomically};
use crate::results_file;

#[derive(clap::Args)]
#[command(after_help = "\
The shard files must share their header (the same experiment config and model); an item in two \
files, or an item that is not one of the run's, is refused. The item order is recomputed from \
the header's config and the datasets, so the merged file is byte for byte the file an unsharded \
`sclab run` writes, and can be resumed or reported like one.

Example:
  sclab run --task bbq --limit 300 --shard 1/3 --out runs/bbq.shard-1.jsonl   # and 2/3, 3/3
  sclab merge runs/bbq.shard-*.jsonl --out runs/bbq.jsonl")]
pub struct Args {
    /// The shard files, in any order.
    #[arg(required = true, value_name = "FILE")]
    inputs: Vec<PathBuf>,
    /// The merged results file, written whole or not at all; never one of the inputs.
    #[arg(long)]
    out: PathBuf,
    /// Write the items there are when some are missing (an unfinished shard) instead of refusing;
    /// `sclab run --resume --out` on the merged file runs the rest.
    #[arg(long)]
    partial: bool,
}

/// One shard file as written: its header line and its item lines, kept verbatim so that the
/// merged file holds exactly the bytes the run wrote.
struct ShardFile {
    path: PathBuf,
    header: Value,
    header_line: String,
    config: ExperimentConfig,
    /// (item id, line)
    items: Vec<(String, String)>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    refuse_overwriting_an_input(&args.out, &args.inputs)?;
    let shards = args.inputs.iter().map(|p| read_shard(p)).collect::<anyhow::Result<Vec<_>>>()?;
    let first = &shards[0];
    for other in &shards[1..] {
        if let Some((field, a, b)) = first_difference(&first.header, &other.header, "") {
            bail!(
                "{} and {} are not shards of one run: their headers differ at {field} ({a} vs {b})",
                first.path.display(),
                other.path.display()
            );
        }
    }

    // item id → (its file, its line)
    let mut lines: HashMap<&str, (&Path, &str)> = HashMap::new();
    for shard in &shards {
        for (id, line) in &shard.items {
            if let Some((earlier, _)) = lines.insert(id, (&shard.path, line)) {
                bail!("item {id} is in both {} and {}", earlier.display(), shard.path.display());
            }
        }
    }

    let config = &first.config;
    let cache = Cache::from_env();
    let rows = dataset_rows(&cache)?;
    let all = load_items(config.task, config.subset, config.prompt.as_deref(), &rows, config.seed)?;
    let seeded: Vec<String> = all.iter().map(|i| i.id.clone()).collect();
    let selected: Vec<String> = config.select(all).map_err(anyhow::Error::msg)?.into_iter().map(|i| i.id).collect();
    // Only an offset/limit run can be resumed past its header's limit (an `ids` run has no
    // items after its list).
    let following = match &config.ids {
        Some(_) => Vec::new(),
        None => seeded.into_iter().skip(config.offset + selected.len()).collect(),
    };
    let present: HashSet<String> = lines.keys().map(|id| id.to_string()).collect();
    let order = run_order(selected, following, &present);

    let in_run: HashSet<&str> = order.iter().map(String::as_str).collect();
    for shard in &shards {
        if let Some((id, _)) = shard.items.iter().find(|(id, _)| !in_run.contains(id.as_str())) {
            bail!(
                "item {id} in {} is not one of the run's items (task {}, seed {}, offset {})",
                shard.path.display(),
                config.task.name(),
                config.seed,
                config.offset
            );
        }
    }
    let missing: Vec<&String> = order.iter().filter(|id| !present.contains(*id)).collect();
    if !missing.is_empty() && !args.partial {
        bail!(
            "{} of the run's {} items are missing (the first is {}): finish the shards with `sclab run … \
             --resume`, or pass --partial to merge the items there are",
            missing.len(),
            order.len(),
            missing[0]
        );
    }

    let mut text = format!("{}\n", first.header_line);
    for (_, line) in order.iter().filter_map(|id| lines.get(id.as_str())) {
        text.push_str(line);
        text.push('\n');
    }
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    write_atomically(&args.out, text.as_bytes())?;
    let gap = if missing.is_empty() { String::new() } else { format!(", {} missing", missing.len()) };
    eprintln!("{} items from {} files in {}{gap}", present.len(), shards.len(), args.out.display());
    Ok(())
}

fn refuse_overwriting_an_input(out: &Path, inputs: &[PathBuf]) -> anyhow::Result<()> {
    let Ok(out_path) = out.canonicalize() else { return Ok(()) };
    for input in inputs {
        if input.canonicalize().is_ok_and(|p| p == out_path) {
            bail!("--out {} is one of the inputs; choose another file", out.display());
        }
    }
    Ok(())
}

fn read_shard(path: &Path) -> anyhow::Result<ShardFile> {
    // Validates the file and finds where its whole lines end (a running or killed shard may end
    // in half a line, which is left out like an unfinished item).
    let results = results_file::read(path)?;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text[..results.valid_len].lines();
    let header_line = lines.next().context("a results file starts with its header")?.to_owned();
    let header = serde_json::from_str(&header_line)?;
    let items = results.items.into_iter().map(|i| i.id).zip(lines.map(str::to_owned)).collect();
    Ok(ShardFile { path: path.to_owned(), header, header_line, config: results.header.config, items })
}

/// The item ids in the order an unsharded run writes them: the header's selection, then the
/// items that follow it in the seeded order up to the furthest one present, for shards resumed
/// with a larger `--limit` (the header keeps the limit the file was created with).
fn run_order(selected: Vec<String>, following: Vec<String>, present: &HashSet<String>) -> Vec<String> {
    let reach = following.iter().rposition(|id| present.contains(id)).map_or(0, |p| p + 1);
    selected.into_iter().chain(following.into_iter().take(reach)).collect()
}

/// The first place where two JSON documents differ, as a dotted path with both values there.
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<(String, Value, Value)> {
    let at = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let (v, w) = (x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null));
                first_difference(v, w, &at(k))
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (v, w))| first_difference(v, w, &format!("{path}[{i}]")))
        }
        _ => (a != b).then(|| (path.to_owned(), a.clone(), b.clone())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::Shard;

    fn ids(range: std::ops::Range<usize>) -> Vec<String> {
        range.map(|i| format!("item-{i}")).collect()
    }

    #[test]
    fn strided_shards_merge_into_the_seeded_order() {
        let selected = ids(0..10);
        // Shard files list their items in their own order; the merge puts them back.
        let present: HashSet<String> =
            (1..=3).rev().flat_map(|k| Shard { index: k, count: 3 }.take(selected.clone())).collect();
        assert_eq!(run_order(selected.clone(), ids(10..30), &present), selected);
    }

    #[test]
    fn shards_resumed_with_a_larger_limit_reach_past_the_header() {
        // Created with --limit 10, resumed with --limit 16: items 10..16 follow in seeded order,
        // and a hole at item-12 (an unfinished shard) is part of the run.
        let present: HashSet<String> = ids(0..12).into_iter().chain(ids(13..16)).collect();
        let order = run_order(ids(0..10), ids(10..30), &present);
        assert_eq!(order, ids(0..16));
        // Nothing past the header's selection: its items, present or not.
        assert_eq!(run_order(ids(0..10), ids(10..30), &ids(0..4).into_iter().collect()), ids(0..10));
    }

    #[test]
    fn header_differences_are_named() {
        let a = serde_json::json!({"config": {"seed": 1, "task": "bbq"}, "probe_accuracy": [0.5, 0.6]});
        let b = serde_json::json!({"config": {"seed": 2, "task": "bbq"}, "probe_accuracy": [0.5, 0.6]});
        let (field, x, y) = first_difference(&a, &b, "").unwrap();
        assert_eq!((field.as_str(), x, y), ("config.seed", 1.into(), 2.into()));
        let c = serde_json::json!({"config": {"seed": 1, "task": "bbq"}, "probe_accuracy": [0.5, 0.7]});
        assert_eq!(first_difference(&a, &c, "").unwrap().0, "probe_accuracy[1]");
        assert_eq!(first_difference(&a, &a.clone(), ""), None);
    }
}
