//! CSV exports of a run (the CLI's report and the page's export): per-round means, per-item
//! values, calibration bins.

use super::record::ItemRecord;
use super::summary::Summary;

/// `(file name, CSV text)` of each table.
pub fn csv_files(items: &[ItemRecord], summary: &Summary) -> Result<Vec<(String, String)>, csv::Error> {
    let mut rounds = csv::Writer::from_writer(Vec::new());
    rounds.write_record(["metric", "round", "mean", "ci95_low", "ci95_high", "n"])?;
    for (name, series) in &summary.metrics {
        for (round, m) in summary.rounds.iter().zip(series) {
            if let Some(m) = m {
                rounds.write_record([
                    name.clone(),
                    round.to_string(),
                    m.mean.to_string(),
                    (m.mean - m.half_width).to_string(),
                    (m.mean + m.half_width).to_string(),
                    m.n.to_string(),
                ])?;
            }
        }
    }
    let mut per_item = csv::Writer::from_writer(Vec::new());
    per_item.write_record(["item", "category", "round", "kind", "metric", "value"])?;
    for item in items {
        for round in &item.rounds {
            for (name, value) in &round.metrics {
                per_item.write_record([
                    item.id.clone(),
                    item.category.clone().unwrap_or_default(),
                    round.round.to_string(),
                    format!("{:?}", round.kind).to_lowercase(),
                    name.clone(),
                    value.to_string(),
                ])?;
            }
        }
    }
    let mut calibration = csv::Writer::from_writer(Vec::new());
    calibration.write_record(["round", "bin_low", "bin_high", "count", "mean_confidence", "accuracy", "ece", "mce"])?;
    for (round, c) in summary.rounds.iter().zip(&summary.calibration) {
        let Some(c) = c else { continue };
        for bin in &c.bins {
            calibration.write_record([
                round.to_string(),
                bin.lower.to_string(),
                bin.upper.to_string(),
                bin.count.to_string(),
                bin.mean_confidence.to_string(),
                bin.accuracy.to_string(),
                c.ece.to_string(),
                c.mce.to_string(),
            ])?;
        }
    }
    let text = |w: csv::Writer<Vec<u8>>| -> Result<String, csv::Error> {
        let bytes = w.into_inner().map_err(|e| csv::Error::from(e.into_error()))?;
        Ok(String::from_utf8(bytes).expect("CSV of UTF-8 strings"))
    };
    Ok(vec![
        ("rounds.csv".into(), text(rounds)?),
        ("items.csv".into(), text(per_item)?),
        ("calibration.csv".into(), text(calibration)?),
    ])
}
