use sclab_assets::Cache;
use sclab_engine::toxicity::LABELS;

use crate::model_choice::classifier;

#[derive(clap::Args)]
pub struct Args {
    /// Texts to score.
    #[arg(required = true)]
    texts: Vec<String>,
    /// Print a JSON array of `{text, scores: {label: p}}` objects.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cache = Cache::from_env();
    let classifier = classifier(&cache)?;
    let texts: Vec<&str> = args.texts.iter().map(String::as_str).collect();
    let scores = classifier.score(&texts);
    if args.json {
        let rows: Vec<_> = texts
            .iter()
            .zip(&scores)
            .map(|(text, s)| {
                let labels: serde_json::Map<_, _> =
                    LABELS.iter().zip(s).map(|(l, p)| (l.to_string(), serde_json::json!(p))).collect();
                serde_json::json!({ "text": text, "scores": labels })
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return Ok(());
    }
    println!("{:<40} {}", "text", LABELS.map(|l| format!("{l:>13}")).join(""));
    for (text, s) in texts.iter().zip(&scores) {
        let shown: String = text.chars().take(38).collect();
        println!("{shown:<40} {}", s.map(|p| format!("{p:>13.3}")).join(""));
    }
    Ok(())
}
