//! `sclab`: the Self-Correction Lab on the command line.

mod assets;
mod bench;
mod chat;
mod model_choice;
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
    /// Measure prefill and decode speed, side by side with candle's stock quantized Llama.
    Bench(bench::Args),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Assets(args) => assets::run(args),
        Command::Chat(args) => chat::run(args),
        Command::Toxicity(args) => toxicity::run(args),
        Command::Bench(args) => bench::run(args),
    }
}
