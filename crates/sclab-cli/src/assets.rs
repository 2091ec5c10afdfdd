use sclab_assets::{prepare, Cache};

#[derive(clap::Args)]
pub struct Args {
    /// Print the steps as JSON instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cache = Cache::from_env();
    if !args.json {
        eprintln!("asset cache: {}", cache.root().display());
    }
    let steps = prepare(&cache, |step| {
        if !args.json {
            let status = if step.done_now { "done" } else { "cached" };
            eprintln!("{status:>7}  {:<28} {}", step.name, step.detail);
        }
    })?;
    if args.json {
        let steps: Vec<_> = steps
            .iter()
            .map(|s| serde_json::json!({ "step": s.name, "done_now": s.done_now, "detail": s.detail }))
            .collect();
        println!("{}", serde_json::json!({ "cache": cache.root(), "steps": steps }));
    }
    Ok(())
}
