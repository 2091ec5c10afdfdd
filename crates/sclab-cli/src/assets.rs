use sclab_assets::models::{self, DEFAULT_MODEL, OPT_IN_MODELS};
use sclab_assets::{prepare, prepare_model, Cache, Step};

#[derive(clap::Args)]
pub struct Args {
    /// Also fetch this opt-in model (repeatable): qwen2.5-coder-0.5b.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(models::names()))]
    model: Vec<String>,
    /// Print the steps as JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cache = Cache::from_env();
    if !args.json {
        eprintln!("asset cache: {}", cache.root().display());
    }
    let show = |step: &Step| {
        if !args.json {
            let status = if step.done_now { "done" } else { "cached" };
            eprintln!("{status:>7}  {:<28} {}", step.name, step.detail);
        }
    };
    let mut steps = prepare(&cache, show)?;
    for name in args.model.iter().filter(|n| n.as_str() != DEFAULT_MODEL) {
        let model = models::opt_in(name).expect("clap checked the name");
        let step = prepare_model(&cache, model)?;
        show(&step);
        steps.push(step);
    }
    let installed: Vec<_> = OPT_IN_MODELS.iter().map(|m| (m, cache.opt_in_model(m).exists())).collect();
    if args.json {
        let steps: Vec<_> = steps
            .iter()
            .map(|s| serde_json::json!({ "step": s.name, "done_now": s.done_now, "detail": s.detail }))
            .collect();
        let models: Vec<_> = installed
            .iter()
            .map(|(m, here)| serde_json::json!({ "model": m.name, "description": m.description, "installed": here }))
            .collect();
        println!("{}", serde_json::json!({ "cache": cache.root(), "steps": steps, "opt_in_models": models }));
    } else {
        for (model, here) in installed {
            let state =
                if here { "installed".to_owned() } else { format!("opt-in: sclab assets --model {}", model.name) };
            eprintln!("  model  {:<28} {} ({state})", model.name, model.description);
        }
    }
    Ok(())
}
