//! Several runs in one report: the conditions of one task overlaid (moral, neutral review,
//! immoral rounds, re-asked rounds) for the concept, the uncertainty, the headline metric and
//! ECE, and a grid of every task's headline metric per round.

use std::collections::BTreeMap;
use std::fmt::Write;

use sclab_core::experiment::conditions::compare_conditions;
use sclab_core::experiment::metric_names::{describe, is_unit_interval};
use sclab_core::experiment::record::{Header, ItemRecord};
use sclab_core::experiment::summary::Summary;
use sclab_core::protocol::ImmoralRounds;

use super::markdown::{cell, ece_points, interval_text, p_text, points, PALETTE};
use super::svg::{self, Series};

/// One results file with its aggregate.
pub struct Run {
    pub source: String,
    pub header: Header,
    pub items: Vec<ItemRecord>,
    pub summary: Summary,
}

impl Run {
    fn label(&self) -> String {
        format!("{} ({})", self.header.config.condition(), self.source)
    }
}

/// The charts and the Markdown section that compare `runs` (at least two).
pub fn section(runs: &[Run]) -> anyhow::Result<(Vec<(String, String)>, String)> {
    let mut files = Vec::new();
    let mut conditions = Vec::new();
    let mut md = String::from("\n# Runs compared\n\n");
    let _ = writeln!(md, "| file | task | condition | items | rounds |\n|---|---|---|---|---|");
    for run in runs {
        let c = &run.header.config;
        let _ = writeln!(
            md,
            "| `{}` | {} ({}) | {} | {} | {} |",
            run.source,
            c.task.name(),
            c.task.provenance().label(),
            c.condition(),
            run.items.len(),
            c.rounds
        );
    }
    let mut by_task: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for run in runs {
        by_task.entry(run.header.config.task.name()).or_default().push(run);
    }
    for (task, group) in &by_task {
        if group.len() < 2 {
            continue;
        }
        let _ = writeln!(md, "\n## `{task}`: conditions\n");
        let headline = group[0].header.config.task.headline_metric();
        for metric in ["concept.input", "entropy.cluster_nll", headline] {
            let labels: Vec<String> = group.iter().map(|r| r.label()).collect();
            let series: Vec<Series> = group
                .iter()
                .zip(&labels)
                .zip(PALETTE.iter().cycle())
                .map(|((run, label), colour)| Series { label, colour, points: points(&run.summary, metric) })
                .filter(|s| !s.points.is_empty())
                .collect();
            if series.is_empty() {
                continue;
            }
            let (what, unit) = describe(metric);
            let file = format!("overlay-{task}-{}.svg", metric.replace('.', "-"));
            let title = format!("{task}: {metric} — {what}, by condition");
            files.push((file.clone(), svg::line_chart(&title, unit, &series, is_unit_interval(metric))));
            let _ = writeln!(md, "![{task} {metric} by condition]({file})\n");
        }
        let labels: Vec<String> = group.iter().map(|r| r.label()).collect();
        let ece: Vec<Series> = group
            .iter()
            .zip(&labels)
            .zip(PALETTE.iter().cycle())
            .map(|((run, label), colour)| Series { label, colour, points: ece_points(&run.summary) })
            .filter(|s| !s.points.is_empty())
            .collect();
        if !ece.is_empty() {
            let file = format!("overlay-{task}-ece.svg");
            files.push((
                file.clone(),
                svg::line_chart(&format!("{task}: ECE per round, by condition"), "ECE", &ece, true),
            ));
            let _ = writeln!(md, "![{task} ECE by condition]({file})\n");
        }
        let mut task_comparisons = Vec::new();
        for other in &group[1..] {
            let metrics =
                ["concept.input", "concept.input.shuffled", "concept.input.random", "entropy.cluster_nll", headline];
            // Rounds 1 and 2, and each immoral round with the round after it (a passing effect).
            let mut rounds = vec![1, 2];
            if let ImmoralRounds::Rounds(immoral) = &other.header.config.immoral_rounds {
                rounds.extend(immoral.iter().flat_map(|&r| [r, r + 1]));
            }
            task_comparisons.extend(compare_conditions(
                (&group[0].items, &group[0].header.config.condition()),
                (&other.items, &other.header.config.condition()),
                &metrics,
                &rounds,
            ));
        }
        if !task_comparisons.is_empty() {
            let _ = writeln!(
                md,
                "Each condition against `{}` on the same items (paired: exact McNemar for shares, paired t \
otherwise; `rT-r1` is the difference of each item's change; p Holm-corrected within each pair of runs):\n",
                group[0].source
            );
            let _ = writeln!(
                md,
                "| metric | condition | quantity | n | difference [95 % CI] | p (Holm) |\n|---|---|---|---|---|---|"
            );
            for c in &task_comparisons {
                let d = &c.difference;
                let interval = interval_text(d.low, d.high, true);
                let p = c.p_holm.map_or("–".to_owned(), p_text);
                let _ = writeln!(
                    md,
                    "| `{}` | {} | {} | {} | {:+.3}{interval} | {p} |",
                    c.metric, c.condition, c.quantity, d.n, d.mean
                );
            }
            md.push('\n');
        }
        conditions.extend(task_comparisons);
        let _ = writeln!(md, "| condition | `{headline}` round 1 | last round |\n|---|---|---|");
        for run in group {
            let series = run.summary.metrics.get(headline);
            let at = |i: Option<usize>| i.and_then(|i| series?.get(i)).map(cell).unwrap_or_else(|| "–".into());
            let first = run.summary.rounds.iter().position(|&r| r == 1);
            let last = run.summary.rounds.len().checked_sub(1);
            let _ = writeln!(md, "| {} | {} | {} |", run.label(), at(first), at(last));
        }
    }
    if by_task.len() > 1 {
        let _ = writeln!(md, "\n## Every task's headline metric per round\n");
        let mut row = Vec::new();
        for (task, group) in &by_task {
            let run = group[0];
            let headline = run.header.config.task.headline_metric();
            let series =
                [Series { label: "mean, 95 % CI", colour: PALETTE[0], points: points(&run.summary, headline) }];
            let file = format!("grid-{task}.svg");
            let title = format!("{task}: {headline} ({})", run.header.config.condition());
            files.push((
                file.clone(),
                svg::line_chart(&title, describe(headline).1, &series, is_unit_interval(headline)),
            ));
            row.push(format!("![{task}]({file})"));
        }
        let _ = writeln!(md, "| | |\n|---|---|");
        for pair in row.chunks(2) {
            let _ = writeln!(md, "| {} | {} |", pair[0], pair.get(1).map_or("", String::as_str));
        }
    }
    if !conditions.is_empty() {
        files.push(("conditions.csv".into(), sclab_core::experiment::tables::conditions_csv(&conditions)?));
        let _ = writeln!(md, "\nCSV: [conditions.csv](conditions.csv) (conditions compared item by item).");
    }
    Ok((files, md))
}
