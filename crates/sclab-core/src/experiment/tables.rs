//! CSV exports of a run (the CLI's report and the page's export): per-round means with their
//! intervals, paired comparisons between rounds, every item's metrics and answers per round,
//! calibration bins. Every number a report states can be recomputed from these files.

use super::conditions::ConditionComparison;
use super::record::ItemRecord;
use super::summary::Summary;

/// The comparisons of conditions item by item (`sclab report` with several runs of a task).
pub fn conditions_csv(comparisons: &[ConditionComparison]) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "metric",
        "condition",
        "against",
        "quantity",
        "n",
        "mean_difference",
        "ci95_low",
        "ci95_high",
        "p",
        "p_holm",
        "went_1_to_0",
        "went_0_to_1",
    ])?;
    for c in comparisons {
        let d = &c.difference;
        w.write_record([
            c.metric.clone(),
            c.condition.clone(),
            c.against.clone(),
            c.quantity.clone(),
            d.n.to_string(),
            d.mean.to_string(),
            optional(d.low),
            optional(d.high),
            optional(d.p_value),
            optional(c.p_holm),
            d.discordant.map(|x| x.0.to_string()).unwrap_or_default(),
            d.discordant.map(|x| x.1.to_string()).unwrap_or_default(),
        ])?;
    }
    text(w)
}

/// An optional number as a CSV cell: empty where there is none.
fn optional(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A unit enum's name as it is serialised (`wilson`, `paired_t`, `review`).
fn name_of(value: impl serde::Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn text(w: csv::Writer<Vec<u8>>) -> Result<String, csv::Error> {
    let bytes = w.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
    Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings"))
}

/// `(file name, CSV text)` of each table.
pub fn csv_files(items: &[ItemRecord], summary: &Summary) -> Result<Vec<(String, String)>, csv::Error> {
    let mut rounds = csv::Writer::from_writer(Vec::new());
    rounds.write_record(["metric", "round", "mean", "ci95_low", "ci95_high", "interval", "n"])?;
    for (name, series) in &summary.metrics {
        for (round, m) in summary.rounds.iter().zip(series) {
            if let Some(m) = m {
                rounds.write_record([
                    name.clone(),
                    round.to_string(),
                    m.mean.to_string(),
                    optional(m.low),
                    optional(m.high),
                    name_of(m.interval),
                    m.n.to_string(),
                ])?;
            }
        }
    }
    let mut comparisons = csv::Writer::from_writer(Vec::new());
    comparisons.write_record([
        "metric",
        "round",
        "against",
        "n",
        "mean_difference",
        "ci95_low",
        "ci95_high",
        "test",
        "p",
        "p_holm",
        "went_1_to_0",
        "went_0_to_1",
    ])?;
    for (name, list) in &summary.comparisons {
        for c in list {
            let d = &c.difference;
            let test = name_of(d.test);
            comparisons.write_record([
                name.clone(),
                c.round.to_string(),
                c.against.to_string(),
                d.n.to_string(),
                d.mean.to_string(),
                optional(d.low),
                optional(d.high),
                test,
                optional(d.p_value),
                optional(c.p_holm),
                d.discordant.map(|x| x.0.to_string()).unwrap_or_default(),
                d.discordant.map(|x| x.1.to_string()).unwrap_or_default(),
            ])?;
        }
    }
    let mut per_item = csv::Writer::from_writer(Vec::new());
    per_item.write_record(["item", "category", "round", "kind", "metric", "value"])?;
    let mut answers = csv::Writer::from_writer(Vec::new());
    answers.write_record(["item", "category", "round", "kind", "parsed_option", "scored_option", "answer"])?;
    for item in items {
        for round in &item.rounds {
            let kind = name_of(round.kind);
            for (name, value) in &round.metrics {
                per_item.write_record([
                    item.id.clone(),
                    item.category.clone().unwrap_or_default(),
                    round.round.to_string(),
                    kind.clone(),
                    name.clone(),
                    value.to_string(),
                ])?;
            }
            let option = |o: Option<usize>| o.map(|o| ((b'a' + o as u8) as char).to_string()).unwrap_or_default();
            answers.write_record([
                item.id.clone(),
                item.category.clone().unwrap_or_default(),
                round.round.to_string(),
                kind,
                option(round.qa.as_ref().and_then(|q| q.parsed)),
                option(round.qa.as_ref().map(|q| q.scored)),
                round.answer.clone(),
            ])?;
        }
    }
    let mut calibration = csv::Writer::from_writer(Vec::new());
    calibration.write_record([
        "round",
        "bin_low",
        "bin_high",
        "count",
        "mean_confidence",
        "accuracy",
        "ece",
        "ece_ci95_low",
        "ece_ci95_high",
        "mce",
    ])?;
    for (round, c) in summary.rounds.iter().zip(&summary.calibration) {
        let Some(c) = c else { continue };
        for bin in &c.calibration.bins {
            calibration.write_record([
                round.to_string(),
                bin.lower.to_string(),
                bin.upper.to_string(),
                bin.count.to_string(),
                bin.mean_confidence.to_string(),
                bin.accuracy.to_string(),
                c.calibration.ece.to_string(),
                optional(c.ece_low),
                optional(c.ece_high),
                c.calibration.mce.to_string(),
            ])?;
        }
    }
    Ok(vec![
        ("rounds.csv".into(), text(rounds)?),
        ("comparisons.csv".into(), text(comparisons)?),
        ("items.csv".into(), text(per_item)?),
        ("answers.csv".into(), text(answers)?),
        ("calibration.csv".into(), text(calibration)?),
    ])
}
