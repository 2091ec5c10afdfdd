//! The report's Markdown and the charts it embeds.

use std::collections::BTreeMap;
use std::fmt::Write;

use sclab_core::experiment::metric_names::{describe, is_unit_interval};
use sclab_core::experiment::record::{Header, ItemRecord};
use sclab_core::experiment::summary::Summary;
use sclab_core::metrics::stats::MeanInterval;

use super::svg::{self, Reliability, Series};

const SCORED: &str = "#1f5fbf";
const PARSED: &str = "#d9822b";

/// Metrics charted and tabled: each base name, with its `_parsed` twin drawn alongside.
fn base_metrics(summary: &Summary) -> Vec<&str> {
    summary.metrics.keys().map(String::as_str).filter(|m| !m.ends_with("_parsed")).collect()
}

pub fn chart_file(metric: &str) -> String {
    format!("chart-{}.svg", metric.replace('.', "-"))
}

fn points(summary: &Summary, metric: &str) -> Vec<(f64, f64, f64)> {
    let Some(series) = summary.metrics.get(metric) else { return Vec::new() };
    summary
        .rounds
        .iter()
        .zip(series)
        .filter_map(|(&r, m)| Some((r as f64, m.as_ref()?.mean, m.as_ref()?.half_width)))
        .collect()
}

pub fn charts(header: &Header, summary: &Summary) -> Vec<(String, String)> {
    let task = header.config.task.name();
    let mut files = Vec::new();
    for metric in base_metrics(summary) {
        let (what, unit) = describe(metric);
        let parsed = format!("{metric}_parsed");
        let mut series = vec![Series {
            label: if summary.metrics.contains_key(&parsed) { "option scores" } else { "mean ± 95 % CI" },
            colour: SCORED,
            points: points(summary, metric),
        }];
        if summary.metrics.contains_key(&parsed) {
            series.push(Series { label: "parsed text", colour: PARSED, points: points(summary, &parsed) });
        }
        let title = format!("{task}: {metric} — {what}");
        files.push((chart_file(metric), svg::line_chart(&title, unit, &series, is_unit_interval(metric))));
    }
    let reliability: Vec<Reliability> = first_and_last(summary)
        .into_iter()
        .zip([SCORED, PARSED])
        .filter_map(|((round, index), colour)| {
            let c = summary.calibration.get(index)?.as_ref()?;
            let bins =
                c.bins.iter().filter(|b| b.count > 0).map(|b| (b.mean_confidence, b.accuracy, b.count)).collect();
            Some(Reliability { label: format!("round {round} (ECE {:.3})", c.ece), colour, bins })
        })
        .collect();
    if !reliability.is_empty() {
        files.push(("reliability.svg".into(), svg::reliability_diagram(&format!("{task}: reliability"), &reliability)));
    }
    if summary.concept_by_layer.iter().any(|l| !l.is_empty()) {
        let concept = header.config.concept();
        let title = format!("{task}: {} concept (cosine) of the round input, by layer", concept.name());
        files.push(("concept-layers.svg".into(), svg::heatmap(&title, &summary.rounds, &summary.concept_by_layer)));
    }
    files
}

/// `(round, index)` of the first self-correction round and of the last round.
fn first_and_last(summary: &Summary) -> Vec<(usize, usize)> {
    let first = summary.rounds.iter().position(|&r| r >= 1);
    let last = summary.rounds.len().checked_sub(1);
    match (first, last) {
        (Some(f), Some(l)) if f != l => vec![(summary.rounds[f], f), (summary.rounds[l], l)],
        (_, Some(l)) => vec![(summary.rounds[l], l)],
        _ => Vec::new(),
    }
}

fn cell(m: &Option<MeanInterval>) -> String {
    match m {
        Some(m) => format!("{:.3} ± {:.3}", m.mean, m.half_width),
        None => "–".into(),
    }
}

pub fn report(source: &str, header: &Header, items: &[ItemRecord], summary: &Summary) -> String {
    let c = &header.config;
    let mut md = String::new();
    let _ = writeln!(md, "# Self-correction report: `{}`\n", c.task.name());
    let _ = writeln!(md, "From `{source}`, written by {}.\n", header.writer);
    let _ = writeln!(md, "| setting | value |\n|---|---|");
    let _ = writeln!(
        md,
        "| model | `{}` (sha256 `{}…`, {} layers, {} backend) |",
        header.model.name,
        &header.model.sha256[..12.min(header.model.sha256.len())],
        header.model.layers,
        header.model.backend
    );
    let _ = writeln!(md, "| items | {} |", items.len());
    let _ = writeln!(md, "| rounds | {}{} |", c.rounds, if c.baseline { " + baseline round 0" } else { "" });
    let _ = writeln!(md, "| immoral instruction | {} |", serde_json::to_string(&c.immoral_rounds).unwrap_or_default());
    let _ = writeln!(md, "| samples K | {} at temperature {}, top-p {} |", c.samples, c.temperature, c.top_p);
    let _ = writeln!(md, "| clustering | {} |", serde_json::to_string(&c.clustering()).unwrap_or_default());
    let _ = writeln!(md, "| concept, layer | {}, {} |", c.concept().name(), c.layer(header.model.layers));
    let _ = writeln!(md, "| seed | {} |\n", c.seed);

    let _ = writeln!(md, "## Overview\n");
    let _ = writeln!(md, "Means over items with 95 % t-intervals; *converged* is the first round after which the mean stays within 1 % of its range for the next 3 rounds (MISSION.md's rule), and within 5 % (a looser rule for noisy K-sample metrics).\n");
    let pairs = first_and_last(summary);
    let (fr, lr) = (pairs.first().map(|p| p.0).unwrap_or(0), pairs.last().map(|p| p.0).unwrap_or(0));
    let base_round = summary.rounds.iter().position(|&r| r == 0);
    let _ = writeln!(
        md,
        "| metric | meaning | {}round {fr} | round {lr} | converged at |",
        if base_round.is_some() { "round 0 | " } else { "" }
    );
    let _ = writeln!(md, "|---|---|{}---|---|---|", if base_round.is_some() { "---|" } else { "" });
    for (name, series) in &summary.metrics {
        let at = |i: Option<usize>| i.and_then(|i| series.get(i)).map(cell).unwrap_or_else(|| "–".into());
        let round_of = |c: &BTreeMap<String, Option<usize>>| {
            c.get(name).copied().flatten().map_or("–".to_owned(), |r| r.to_string())
        };
        let converged = format!("{} | {}", round_of(&summary.convergence), round_of(&summary.convergence_loose));
        let baseline = if base_round.is_some() { format!("{} | ", at(base_round)) } else { String::new() };
        let _ = writeln!(
            md,
            "| `{name}` | {} | {baseline}{} | {} | {converged} |",
            describe(name).0,
            at(pairs.first().map(|p| p.1)),
            at(pairs.last().map(|p| p.1))
        );
    }

    let _ = writeln!(md, "\n## Per round\n");
    for metric in base_metrics(summary) {
        let _ = writeln!(md, "### `{metric}` — {} ({})\n", describe(metric).0, describe(metric).1);
        let _ = writeln!(md, "![{metric} per round]({})\n", chart_file(metric));
        let parsed = format!("{metric}_parsed");
        let twin = summary.metrics.get(&parsed);
        let _ = writeln!(md, "| round | mean ± 95 % CI | n |{}", if twin.is_some() { " parsed text |" } else { "" });
        let _ = writeln!(md, "|---|---|---|{}", if twin.is_some() { "---|" } else { "" });
        for (i, round) in summary.rounds.iter().enumerate() {
            let m = &summary.metrics[metric][i];
            let extra = twin.map(|t| format!(" {} |", cell(&t[i]))).unwrap_or_default();
            let _ = writeln!(md, "| {round} | {} | {} |{extra}", cell(m), m.map_or(0, |m| m.n));
        }
        md.push('\n');
    }

    if summary.calibration.iter().any(Option::is_some) {
        let _ = writeln!(md, "## Calibration\n\n![reliability diagram](reliability.svg)\n");
        let _ = writeln!(md, "| round | ECE | MCE |\n|---|---|---|");
        for (round, c) in summary.rounds.iter().zip(&summary.calibration) {
            if let Some(c) = c {
                let _ = writeln!(md, "| {round} | {:.3} | {:.3} |", c.ece, c.mce);
            }
        }
        md.push('\n');
    }

    let _ = writeln!(md, "## Concept\n\n![concept by layer and round](concept-layers.svg)\n");
    if !header.probe_accuracy.is_empty() {
        let acc: Vec<String> = header.probe_accuracy.iter().enumerate().map(|(l, a)| format!("{l}: {a:.2}")).collect();
        let _ = writeln!(md, "Held-out accuracy of the logistic probe per layer: {}.\n", acc.join(", "));
    }
    let _ = writeln!(md, "## Concept and uncertainty (the paper's simulation)\n");
    match &summary.simulation {
        Some(s) => {
            let _ = writeln!(
                md,
                "Logistic regression of \"uncertainty (`entropy.cluster_nll`) did not rise\" on Δ`concept.input` between consecutive rounds, 80/20 split ({} / {} pairs): accuracy {:.3}, AUC {:.3}, coefficient {:+.3} (intercept {:+.3}).",
                s.train, s.test, s.accuracy, s.auc, s.coefficient, s.intercept
            );
        }
        None => {
            let _ = writeln!(md, "Too few round pairs with both outcomes for the regression.");
        }
    }
    if let Some(r) = summary.concept_uncertainty_r {
        let _ = writeln!(
            md,
            "\nPearson r between the per-round means of `concept.input` and `entropy.cluster_nll`: {r:+.3}."
        );
    }

    let headline = c.task.headline_metric();
    let mut by_category: BTreeMap<&str, Vec<ItemRecord>> = BTreeMap::new();
    for item in items {
        if let Some(cat) = &item.category {
            by_category.entry(cat.as_str()).or_default().push(item.clone());
        }
    }
    if by_category.len() > 1 {
        let _ = writeln!(
            md,
            "\n## By category: `{headline}`\n\n| category | items | round {fr} | round {lr} |\n|---|---|---|---|"
        );
        for (cat, group) in &by_category {
            let s = Summary::of(group, c.seed);
            let at = |round: usize| {
                let i = s.rounds.iter().position(|&r| r == round)?;
                Some(cell(s.metrics.get(headline)?.get(i)?))
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                cat.replace('|', "/"),
                group.len(),
                at(fr).unwrap_or_else(|| "–".into()),
                at(lr).unwrap_or_else(|| "–".into())
            );
        }
    }
    let _ = writeln!(md, "\nCSV: [rounds.csv](rounds.csv) (means and intervals), [items.csv](items.csv) (every item, round and metric), [calibration.csv](calibration.csv).");
    md
}
