//! `sclab report`: results files turned into a Markdown report with SVG charts and CSV exports;
//! several files are compared (conditions of a task overlaid, every task's headline in a grid).

mod markdown;
mod overlay;
mod svg;

use std::path::PathBuf;

use anyhow::Context;
use sclab_core::experiment::summary::Summary;

use crate::results_file;
use overlay::Run;

#[derive(clap::Args)]
pub struct Args {
    /// Results files written by `sclab run`: the first is reported in full (its CSV files too),
    /// the others are compared with it.
    #[arg(required = true)]
    results: Vec<PathBuf>,
    /// The folder for report.md, the charts and the CSV files.
    #[arg(long)]
    out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let runs = args
        .results
        .iter()
        .map(|path| {
            let results = results_file::read(path)?;
            anyhow::ensure!(!results.items.is_empty(), "{} holds no finished item yet", path.display());
            let summary = Summary::of(&results.items, results.header.config.seed);
            let source = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            Ok(Run { source, header: results.header, items: results.items, summary })
        })
        .collect::<anyhow::Result<Vec<Run>>>()?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut files = Vec::new();
    let mut write = |name: String, text: String| -> anyhow::Result<()> {
        let path = args.out.join(&name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        files.push(name);
        Ok(())
    };
    let main = &runs[0];
    for (name, text) in sclab_core::experiment::tables::csv_files(&main.items, &main.summary)? {
        write(name, text)?;
    }
    for (name, text) in markdown::charts(&main.header, &main.summary) {
        write(name, text)?;
    }
    let mut report = markdown::report(&main.source, &main.header, &main.items, &main.summary);
    if runs.len() > 1 {
        let (charts, section) = overlay::section(&runs)?;
        for (name, text) in charts {
            write(name, text)?;
        }
        report.push_str(&section);
    }
    write("report.md".into(), report)?;
    eprintln!("wrote {} files to {}", files.len(), args.out.display());
    Ok(())
}
