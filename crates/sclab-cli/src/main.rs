//! `sclab`: the Self-Correction Lab on the command line.

mod assets;
mod backend_choice;
mod bench;
mod chat;
mod eval_toxicity;
mod lab;
mod merge;
mod model_choice;
mod report;
mod results_file;
mod run;
mod serve;
mod shard;
mod toxicity;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "sclab", version, about = "Watch moral self-correction converge in a small language model")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch, verify and convert every pinned asset (models, classifier, datasets) into the cache.
    Assets(assets::Args),
    /// Ask the model one question and stream its answer.
    Chat(chat::Args),
    /// Score texts with the toxicity classifier.
    Toxicity(toxicity::Args),
    /// Run a self-correction experiment over a task's items; results go to a JSON-lines file.
    Run(run::Args),
    /// Join the shard files of one run (`sclab run --shard k/n`) into the file an unsharded run writes.
    Merge(merge::Args),
    /// Turn a results file into a Markdown report with SVG charts and CSV files.
    Report(report::Args),
    /// Check the toxicity classifier against Perspective API scores and ToxiGen labels.
    EvalToxicity(eval_toxicity::Args),
    /// Measure prefill and decode speed, side by side with candle's stock quantized Llama.
    Bench(bench::Args),
    /// Serve the lab page on http://127.0.0.1:8080 (stages the assets it fetches first).
    Serve(serve::Args),
}

fn main() -> anyhow::Result<()> {
    #[cfg(feature = "gpu")]
    sclab_gpu::quiet_headless_probe();
    match Cli::parse().command {
        Command::Assets(args) => assets::run(args),
        Command::Chat(args) => chat::run(args),
        Command::Toxicity(args) => toxicity::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Run(args) => run::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Report(args) => report::run(args),
        Command::EvalToxicity(args) => eval_toxicity::run(args),
        Command::Serve(args) => serve::run(args),
    }
}
