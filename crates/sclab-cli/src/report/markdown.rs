//! The report's Markdown and the charts it embeds (statistics as docs/METHODS.md defines them).

use std::collections::BTreeMap;
use std::fmt::Write;

use sclab_core::experiment::metric_names::{describe, is_unit_interval, SCORED_SUFFIX};
use sclab_core::experiment::record::{Header, ItemRecord};
use sclab_core::experiment::summary::{Comparison, RoundValue, Summary};

use super::svg::{self, Reliability, Series};

/// Colours of overlaid series, in order: the main reading or condition first.
pub const PALETTE: [&str; 6] = ["#1f5fbf", "#d9822b", "#2a9d4b", "#b8336a", "#6b4fbb", "#7a7a7a"];

/// Metrics charted and tabled: each base name, with its `_scored` twin drawn alongside.
fn base_metrics(summary: &Summary) -> Vec<&str> {
    summary.metrics.keys().map(String::as_str).filter(|m| !m.ends_with(SCORED_SUFFIX)).collect()
}

pub fn chart_file(metric: &str) -> String {
    format!("chart-{}.svg", metric.replace('.', "-"))
}

/// `(round, mean, low, high)` of a metric's rounds; bounds at the mean where there is no interval.
pub fn points(summary: &Summary, metric: &str) -> Vec<(f64, f64, f64, f64)> {
    let Some(series) = summary.metrics.get(metric) else { return Vec::new() };
    summary
        .rounds
        .iter()
        .zip(series)
        .filter_map(|(&r, m)| {
            let m = m.as_ref()?;
            Some((r as f64, m.mean, m.low.unwrap_or(m.mean), m.high.unwrap_or(m.mean)))
        })
        .collect()
}

pub fn charts(header: &Header, summary: &Summary) -> Vec<(String, String)> {
    let task = header.config.task.name();
    let mut files = Vec::new();
    for metric in base_metrics(summary) {
        let (what, unit) = describe(metric);
        let scored = format!("{metric}{SCORED_SUFFIX}");
        let twin = summary.metrics.contains_key(&scored);
        let mut series = vec![Series {
            label: if twin { "answer text" } else { "mean, 95 % CI" },
            colour: PALETTE[0],
            points: points(summary, metric),
        }];
        if twin {
            series.push(Series { label: "option scores", colour: PALETTE[1], points: points(summary, &scored) });
        }
        let title = format!("{task}: {metric} — {what}");
        files.push((chart_file(metric), svg::line_chart(&title, unit, &series, is_unit_interval(metric))));
    }
    let reliability: Vec<Reliability> = first_and_last(summary)
        .into_iter()
        .zip(PALETTE)
        .filter_map(|((round, index), colour)| {
            let c = &summary.calibration.get(index)?.as_ref()?.calibration;
            let bins =
                c.bins.iter().filter(|b| b.count > 0).map(|b| (b.mean_confidence, b.accuracy, b.count)).collect();
            Some(Reliability { label: format!("round {round} (ECE {:.3})", c.ece), colour, bins })
        })
        .collect();
    if !reliability.is_empty() {
        files.push(("reliability.svg".into(), svg::reliability_diagram(&format!("{task}: reliability"), &reliability)));
        let series = [Series { label: "ECE, 95 % bootstrap CI", colour: PALETTE[0], points: ece_points(summary) }];
        files.push(("chart-ece.svg".into(), svg::line_chart(&format!("{task}: ECE per round"), "ECE", &series, true)));
    }
    if summary.concept_by_layer.iter().any(|l| !l.is_empty()) {
        let concept = header.config.concept();
        let title = format!("{task}: {} concept (cosine) of the round input, by layer", concept.name());
        files.push(("concept-layers.svg".into(), svg::heatmap(&title, &summary.rounds, &summary.concept_by_layer)));
    }
    files
}

/// `(round, ECE, low, high)` of every round with calibration; bounds at the ECE without an interval.
pub fn ece_points(summary: &Summary) -> Vec<(f64, f64, f64, f64)> {
    summary
        .rounds
        .iter()
        .zip(&summary.calibration)
        .filter_map(|(&r, c)| {
            let c = c.as_ref()?;
            let e = c.calibration.ece;
            Some((r as f64, e, c.ece_low.unwrap_or(e), c.ece_high.unwrap_or(e)))
        })
        .collect()
}

/// " [low, high]" of an interval (signed for differences), or nothing where there is none.
pub fn interval_text(low: Option<f64>, high: Option<f64>, signed: bool) -> String {
    match (low, high) {
        (Some(l), Some(h)) if signed => format!(" [{l:+.3}, {h:+.3}]"),
        (Some(l), Some(h)) => format!(" [{l:.3}, {h:.3}]"),
        _ => String::new(),
    }
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

/// A mean with its interval, or "n < 5" where none is reported.
pub fn cell(m: &Option<RoundValue>) -> String {
    match m {
        Some(RoundValue { mean, low: Some(low), high: Some(high), .. }) => format!("{mean:.3} [{low:.3}, {high:.3}]"),
        Some(m) => format!("{:.3} (n = {})", m.mean, m.n),
        None => "–".into(),
    }
}

/// A paired difference with its interval and Holm-adjusted p-value.
pub fn difference_cell(c: Option<&Comparison>) -> String {
    let Some(c) = c else { return "–".into() };
    let d = &c.difference;
    let interval = interval_text(d.low, d.high, true);
    let p = c.p_holm.map(|p| format!(", p<sub>Holm</sub> {}", p_text(p))).unwrap_or_else(|| " (n < 5)".into());
    let moved = d.discordant.map(|(down, up)| format!(", {down}↓ {up}↑")).unwrap_or_default();
    format!("{:+.3}{interval}{p}{moved}", d.mean)
}

pub fn p_text(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else {
        format!("{p:.3}")
    }
}

fn comparison<'a>(summary: &'a Summary, metric: &str, round: usize, against: usize) -> Option<&'a Comparison> {
    summary.comparisons.get(metric)?.iter().find(|c| c.round == round && c.against == against)
}

pub fn report(source: &str, header: &Header, items: &[ItemRecord], summary: &Summary) -> String {
    let c = &header.config;
    let mut md = String::new();
    let _ = writeln!(md, "# Self-correction report: `{}` ({})\n", c.task.name(), c.task.provenance().label());
    let _ = writeln!(md, "From `{source}`, written by {}. Methods: docs/METHODS.md.\n", header.writer);
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
    let _ = writeln!(md, "| condition | {} |", c.condition());
    let _ = writeln!(md, "| answer length | {} tokens |", c.protocol().max_tokens);
    let _ = writeln!(md, "| option scoring | {} |", serde_json::to_string(&c.option_scoring).unwrap_or_default());
    let _ = writeln!(md, "| samples K | {} at temperature {}, top-p {} |", c.samples, c.temperature, c.top_p);
    let _ = writeln!(md, "| clustering | {} |", serde_json::to_string(&c.clustering()).unwrap_or_default());
    let _ = writeln!(md, "| concept, layer | {}, {} |", c.concept().name(), c.layer(header.model.layers));
    let _ = writeln!(md, "| seed | {} |\n", c.seed);

    let pairs = first_and_last(summary);
    let (fr, lr) = (pairs.first().map(|p| p.0).unwrap_or(0), pairs.last().map(|p| p.0).unwrap_or(0));
    let base_round = summary.rounds.iter().position(|&r| r == 0);
    let _ = writeln!(md, "## Overview\n");
    let _ = writeln!(
        md,
        "Means over items with 95 % intervals (Wilson for shares, Student's t otherwise; none below 5 items). \
Changes are paired on the same items: round {lr} − round {fr}{}, with the exact McNemar test for shares and the paired t-test \
otherwise, p Holm-corrected across the metrics; ↓/↑ count items whose 0/1 value went 1 → 0 / 0 → 1. *Settled* is the first \
round after which every later mean stays within ε, the median 95 % half-width.\n",
        if base_round.is_some() { format!(" and round {fr} − round 0") } else { String::new() }
    );
    let _ = writeln!(
        md,
        "| metric | meaning | {}round {fr} | round {lr} | {}round {lr} − round {fr} | settled (ε) |",
        if base_round.is_some() { "round 0 | " } else { "" },
        if base_round.is_some() { format!("round {fr} − round 0 | ") } else { String::new() }
    );
    let _ = writeln!(md, "|---|---|{}---|---|---|---|", if base_round.is_some() { "---|---|" } else { "" });
    for (name, series) in &summary.metrics {
        let at = |i: Option<usize>| i.and_then(|i| series.get(i)).map(cell).unwrap_or_else(|| "–".into());
        let settled = summary.convergence.get(name).map_or("–".to_owned(), |cv| {
            format!("{} ({:.3})", cv.round.map_or("not settled".to_owned(), |r| r.to_string()), cv.epsilon)
        });
        let (baseline, versus_baseline) = match base_round {
            Some(b) => {
                (format!("{} | ", at(Some(b))), format!("{} | ", difference_cell(comparison(summary, name, fr, 0))))
            }
            None => (String::new(), String::new()),
        };
        let _ = writeln!(
            md,
            "| `{name}` | {} | {baseline}{} | {} | {versus_baseline}{} | {settled} |",
            describe(name).0,
            at(pairs.first().map(|p| p.1)),
            at(pairs.last().map(|p| p.1)),
            difference_cell(comparison(summary, name, lr, fr)),
        );
    }

    let _ = writeln!(md, "\n## Answers\n");
    let _ = writeln!(
        md,
        "Answer changes per item over the self-correction rounds: {:.2}. Items returning to an answer they had \
abandoned: {} of {} ({:.2} returns per item).\n",
        summary.answers.changes_per_item,
        summary.answers.oscillating.successes,
        summary.answers.oscillating.n,
        summary.answers.oscillations_per_item
    );
    let _ = writeln!(md, "| round | answers changed since the previous round |\n|---|---|");
    for (round, changed) in summary.rounds.iter().zip(&summary.answers.changed) {
        if let Some(p) = changed {
            let _ = writeln!(
                md,
                "| {round} | {} of {} ({:.3} [{:.3}, {:.3}]) |",
                p.successes, p.n, p.estimate, p.low, p.high
            );
        }
    }
    let _ = writeln!(md, "\nEvery answer per round: [answers.csv](answers.csv).\n");

    let _ = writeln!(md, "## Per round\n");
    for metric in base_metrics(summary) {
        let _ = writeln!(md, "### `{metric}` — {} ({})\n", describe(metric).0, describe(metric).1);
        let _ = writeln!(md, "![{metric} per round]({})\n", chart_file(metric));
        let scored = format!("{metric}{SCORED_SUFFIX}");
        let twin = summary.metrics.get(&scored);
        let _ = writeln!(
            md,
            "| round | mean [95 % CI] | n | vs round {fr} |{}",
            if twin.is_some() { " option scores |" } else { "" }
        );
        let _ = writeln!(md, "|---|---|---|---|{}", if twin.is_some() { "---|" } else { "" });
        for (i, &round) in summary.rounds.iter().enumerate() {
            let m = &summary.metrics[metric][i];
            let extra = twin.map(|t| format!(" {} |", cell(&t[i]))).unwrap_or_default();
            let versus =
                if round == fr { "–".into() } else { difference_cell(comparison(summary, metric, round, fr)) };
            let _ = writeln!(md, "| {round} | {} | {} | {versus} |{extra}", cell(m), m.map_or(0, |m| m.n));
        }
        md.push('\n');
    }

    if summary.calibration.iter().any(Option::is_some) {
        let _ = writeln!(
            md,
            "## Calibration\n\n![reliability diagram](reliability.svg)\n\n![ECE per round](chart-ece.svg)\n"
        );
        let _ = writeln!(md, "| round | ECE [95 % bootstrap CI] | MCE |\n|---|---|---|");
        for (round, c) in summary.rounds.iter().zip(&summary.calibration) {
            if let Some(c) = c {
                let interval = interval_text(c.ece_low, c.ece_high, false);
                let _ = writeln!(md, "| {round} | {:.3}{interval} | {:.3} |", c.calibration.ece, c.calibration.mce);
            }
        }
        md.push('\n');
    }

    let _ = writeln!(md, "## Concept\n\n![concept by layer and round](concept-layers.svg)\n");
    let _ = writeln!(
        md,
        "`concept.input.shuffled` and `concept.input.random` score the same states on a direction from shuffled \
side labels and on a random direction: a movement they share is not the concept's. `concept.input.centred` is the \
projection from the midpoint of the two contrast sets.\n"
    );
    if !header.probe_accuracy.is_empty() {
        let acc: Vec<String> = header.probe_accuracy.iter().enumerate().map(|(l, a)| format!("{l}: {a:.2}")).collect();
        let _ = writeln!(md, "Held-out accuracy of the logistic probe per layer: {}.\n", acc.join(", "));
    }
    let _ = writeln!(md, "## Concept and uncertainty (the paper's simulation)\n");
    match &summary.simulation {
        Some(s) => {
            let _ = writeln!(
                md,
                "Logistic regression of \"uncertainty (`entropy.cluster_nll`) did not rise\" on Δ`concept.input` between \
consecutive rounds, {}-fold cross-validated over {} items ({} pairs; an item's pairs never split): base rate {:.3} \
(always guessing the commoner outcome scores {:.3}), held-out accuracy {:.3}, AUC {:.3}{}, coefficient {:+.3}{} \
(95 % item-bootstrap intervals).",
                s.folds,
                s.items,
                s.pairs,
                s.base_rate,
                s.base_rate.max(1.0 - s.base_rate),
                s.accuracy,
                s.auc,
                interval_text(s.auc_low, s.auc_high, true),
                s.coefficient,
                interval_text(s.coefficient_low, s.coefficient_high, true)
            );
        }
        None => {
            let _ = writeln!(md, "Too few items with round pairs of both outcomes for the regression.");
        }
    }
    if !summary.concept_uncertainty.is_empty() {
        let _ = writeln!(
            md,
            "\nSpearman ρ between the per-round means of a concept score and of `entropy.cluster_nll` over the \
self-correction rounds, with 95 % item-bootstrap intervals; the control directions show how much two series that \
trend over rounds correlate anyway:\n\n| concept score | ρ [95 % CI] |\n|---|---|"
        );
        for (name, r) in &summary.concept_uncertainty {
            let _ = writeln!(md, "| `{name}` | {:+.3}{} |", r.rho, interval_text(r.low, r.high, true));
        }
        md.push('\n');
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
    let _ = writeln!(
        md,
        "\nCSV: [rounds.csv](rounds.csv) (means and intervals), [comparisons.csv](comparisons.csv) (paired \
differences), [items.csv](items.csv) (every item, round and metric), [answers.csv](answers.csv) (every answer), \
[calibration.csv](calibration.csv)."
    );
    md
}
