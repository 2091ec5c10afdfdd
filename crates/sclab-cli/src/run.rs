//! `sclab run`: an experiment over a task's items, written as JSON lines item by item.

use std::fs::OpenOptions;
use std::path::PathBuf;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use sclab_core::experiment::record::Line;
use sclab_core::experiment::{Clustering, Concept, Experiment, ExperimentConfig, Review};
use sclab_core::protocol::{ImmoralRounds, OptionScoring};
use sclab_core::tasks::{BbqSubset, TaskId};
use sclab_core::Backend;

use crate::lab::{dataset_rows, Lab};
use crate::model_choice::ModelArgs;
use crate::results_file;
use crate::shard::Shard;

#[derive(clap::Args)]
pub struct Args {
    /// bbq, winobias, stereoset, jailbreak, rtp, harmful or custom.
    #[arg(long, value_parser = parse_task)]
    task: Option<TaskId>,
    /// An experiment config (JSON, see docs/JSON.md); flags given here override its fields.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Where the results go (JSON lines).
    #[arg(long)]
    out: PathBuf,
    /// Continue the run in --out: finished items are kept and skipped.
    #[arg(long)]
    resume: bool,
    #[arg(long)]
    rounds: Option<usize>,
    /// Semantic-entropy samples per round.
    #[arg(long)]
    samples: Option<usize>,
    /// Number of items.
    #[arg(long)]
    limit: Option<usize>,
    #[arg(long)]
    offset: Option<usize>,
    #[arg(long)]
    seed: Option<u64>,
    /// Also ask the bare query as round 0.
    #[arg(long)]
    baseline: bool,
    /// Immoral instruction in "all" rounds or in listed ones, e.g. "2,5,8".
    #[arg(long, value_parser = parse_immoral)]
    immoral_rounds: Option<ImmoralRounds>,
    /// The review rounds' instruction: "paper", or "neutral" (the control without moral content).
    #[arg(long, value_parser = parse_review)]
    review: Option<Review>,
    /// Rounds that ask the query with the moral instruction again (a control), e.g. "5".
    #[arg(long, value_parser = parse_rounds, value_name = "ROUNDS")]
    reask_rounds: Option<Vec<usize>>,
    /// QA option scores for confidence and calibration: "label" (the paper's: the label's mean
    /// token log-probability) or "text" (the whole option's summed log-probability).
    #[arg(long, value_parser = parse_option_scoring)]
    option_scoring: Option<OptionScoring>,
    /// exact, embedding or entailment.
    #[arg(long, value_parser = parse_clustering)]
    clustering: Option<Clustering>,
    /// toxicity, harmfulness or stereotype.
    #[arg(long, value_parser = parse_concept)]
    concept: Option<Concept>,
    /// 0-based layer of the headline concept score (default: the last).
    #[arg(long)]
    layer: Option<usize>,
    #[arg(long)]
    temperature: Option<f32>,
    #[arg(long)]
    max_tokens: Option<usize>,
    /// BBQ contexts: ambiguous, disambiguated or all.
    #[arg(long, value_parser = parse_subset)]
    subset: Option<BbqSubset>,
    /// The prompt of the custom task.
    #[arg(long)]
    prompt: Option<String>,
    /// Run only the k-th of n slices of the items (every n-th item from the k-th), one file per
    /// shard; `sclab merge` joins the shard files. Not recorded in the header.
    #[arg(long, value_parser = Shard::parse, value_name = "K/N")]
    shard: Option<Shard>,
    #[command(flatten)]
    model: ModelArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = config(&args)?;
    let mut lab = Lab::open(&args.model)?;
    let layers = lab.session.backend.info().n_layers;
    let experiment = Experiment::new(config.clone(), layers)?;

    let (mut file, done) = open_results(&args, &config, &lab)?;
    let items = {
        let selected = config.items(&dataset_rows(&lab.cache)?).map_err(anyhow::Error::msg)?;
        match args.shard {
            Some(shard) => shard.take(selected),
            None => selected,
        }
    };
    let todo: Vec<_> = items.into_iter().filter(|i| !done.contains(&i.id)).collect();
    lab.concept(config.concept(), &config.concept_prefix())?;
    if file.is_none() {
        let header = lab.session.header(&config, format!("sclab {}", env!("CARGO_PKG_VERSION")))?;
        let mut f = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&args.out)
            .with_context(|| format!("creating {}", args.out.display()))?;
        results_file::append(&mut f, &Line::Header(Box::new(header)))?;
        file = Some(f);
    }
    let mut file = file.expect("opened above");
    if config.needs_embedder() {
        lab.load_embedder()?;
    }

    let per_item = config.rounds_per_item();
    let bar = ProgressBar::new((todo.len() * per_item) as u64).with_style(ProgressStyle::with_template(
        "{bar:30} {pos}/{len} rounds · {elapsed} elapsed · ETA {eta} · {msg}",
    )?);
    if !done.is_empty() {
        eprintln!("resuming: {} items already in {}", done.len(), args.out.display());
    }
    for item in &todo {
        bar.set_message(item.id.clone());
        let record = pollster::block_on(lab.session.run_item(
            &experiment,
            item,
            &|| false,
            &mut |_| bar.inc(1),
            &mut |_, message| bar.suspend(|| eprintln!("{message}")),
        ))
        .with_context(|| format!("item {}", item.id))?;
        results_file::append(&mut file, &Line::Item(record))?;
    }
    bar.finish_and_clear();
    let shard = args.shard.map(|s| format!(", shard {s}")).unwrap_or_default();
    eprintln!("{} items in {} ({} new{shard})", done.len() + todo.len(), args.out.display(), todo.len());
    Ok(())
}

fn config(args: &Args) -> anyhow::Result<ExperimentConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text).with_context(|| format!("{} is not an experiment config", path.display()))?
        }
        None => match args.task {
            Some(task) => ExperimentConfig::for_task(task),
            None => bail!("pass --task or --config"),
        },
    };
    if let Some(task) = args.task {
        config.task = task;
    }
    macro_rules! take {
        ($($field:ident),*) => { $( if let Some(v) = args.$field.clone() { config.$field = v; } )* };
    }
    take!(rounds, samples, seed, immoral_rounds, subset, temperature, offset, review, reask_rounds, option_scoring);
    macro_rules! take_some {
        ($($field:ident),*) => { $( if args.$field.is_some() { config.$field = args.$field.clone(); } )* };
    }
    take_some!(limit, clustering, concept, layer, max_tokens, prompt);
    config.baseline |= args.baseline;
    config.validate_alone().map_err(anyhow::Error::msg)?;
    Ok(config)
}

/// The open results file and the ids already in it (resume), or `None` for a new file.
fn open_results(
    args: &Args,
    config: &ExperimentConfig,
    lab: &Lab,
) -> anyhow::Result<(Option<std::fs::File>, std::collections::HashSet<String>)> {
    let exists = args.out.metadata().map(|m| m.len() > 0).unwrap_or(false);
    if !exists {
        if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        if args.out.exists() {
            std::fs::remove_file(&args.out)?;
        }
        return Ok((None, Default::default()));
    }
    if !args.resume {
        bail!("{} already exists: pass --resume to continue it, or choose another --out", args.out.display());
    }
    let previous = results_file::read(&args.out)?;
    if !previous.header.config.same_measurements(config) {
        bail!("{} was written with a different experiment config; resume with the same settings", args.out.display());
    }
    if previous.header.model.sha256 != lab.session.model_sha256 {
        bail!("{} was written with another model file ({})", args.out.display(), previous.header.model.name);
    }
    let file = OpenOptions::new().write(true).open(&args.out)?;
    file.set_len(previous.valid_len as u64)?;
    let mut file = file;
    use std::io::Seek;
    file.seek(std::io::SeekFrom::End(0))?;
    Ok((Some(file), previous.items.into_iter().map(|i| i.id).collect()))
}

fn parse_task(s: &str) -> Result<TaskId, String> {
    TaskId::parse(s).ok_or_else(|| {
        let names: Vec<_> = TaskId::ALL.iter().map(|t| t.name()).collect();
        format!("unknown task {s:?} (tasks: {})", names.join(", "))
    })
}

fn parse_concept(s: &str) -> Result<Concept, String> {
    Concept::parse(s).ok_or_else(|| format!("unknown concept {s:?} (toxicity, harmfulness, stereotype)"))
}

fn parse_clustering(s: &str) -> Result<Clustering, String> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| format!("unknown clustering {s:?} (exact, embedding, entailment)"))
}

fn parse_subset(s: &str) -> Result<BbqSubset, String> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| format!("unknown subset {s:?} (ambiguous, disambiguated, all)"))
}

fn parse_review(s: &str) -> Result<Review, String> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| format!("unknown review {s:?} (paper, neutral)"))
}

fn parse_option_scoring(s: &str) -> Result<OptionScoring, String> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| format!("unknown option scoring {s:?} (label, text)"))
}

fn parse_immoral(s: &str) -> Result<ImmoralRounds, String> {
    match s {
        "none" => Ok(ImmoralRounds::None),
        "all" => Ok(ImmoralRounds::All),
        list => parse_rounds(list).map(ImmoralRounds::Rounds),
    }
}

/// A comma-separated list of round numbers, e.g. "2,5,8".
fn parse_rounds(list: &str) -> Result<Vec<usize>, String> {
    list.split(',').map(|r| r.trim().parse::<usize>().map_err(|_| format!("{r:?} is not a round number"))).collect()
}
