//! `sclab report`: a results file turned into a Markdown report with SVG charts and CSV exports.

mod markdown;
mod svg;

use std::path::PathBuf;

use anyhow::Context;
use sclab_core::experiment::summary::Summary;

use crate::results_file;

#[derive(clap::Args)]
pub struct Args {
    /// A results file written by `sclab run`.
    results: PathBuf,
    /// The folder for report.md, the charts and the CSV files.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let results = results_file::read(&args.results)?;
    anyhow::ensure!(!results.items.is_empty(), "{} holds no finished item yet", args.results.display());
    let summary = Summary::of(&results.items, results.header.config.seed);
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut files = Vec::new();
    let mut write = |name: String, text: String| -> anyhow::Result<()> {
        let path = args.out.join(&name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        files.push(name);
        Ok(())
    };
    for (name, text) in sclab_core::experiment::tables::csv_files(&results.items, &summary)? {
        write(name, text)?;
    }
    for (name, text) in markdown::charts(&results.header, &summary) {
        write(name, text)?;
    }
    let source = args.results.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    write("report.md".into(), markdown::report(&source, &results.header, &results.items, &summary))?;
    eprintln!("wrote {} files to {}", files.len(), args.out.display());
    Ok(())
}
