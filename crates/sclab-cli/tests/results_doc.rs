//! Every number in docs/RESULTS.md's tables comes from the CSV files committed beside it. A
//! table is preceded by a marker naming its source, `<!-- rounds: results/x/rounds.csv -->`,
//! `<!-- comparisons: results/x/comparisons.csv -->` or `<!-- conditions:
//! results/x/conditions.csv -->`; each printed number must equal the CSV's value rounded to the
//! decimals printed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn docs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

/// The CSV as maps from column name to value, one per row.
fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers.iter().zip(r.iter()).map(|(h, v)| (h.to_owned(), v.to_owned())).collect()
        })
        .collect()
}

/// The numbers of a cell such as `0.231 [0.180, 0.290]`, `+0.050 [-0.020, +0.110]` or
/// `< 0.001`, with the decimals each was printed with.
fn numbers(cell: &str) -> Vec<(f64, usize)> {
    cell.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
        .map(|t| {
            (t.parse::<f64>().unwrap_or_else(|_| panic!("{t:?} in {cell:?}")), t.split('.').nth(1).map_or(0, str::len))
        })
        .collect()
}

fn agrees(printed: (f64, usize), value: &str, what: &str) {
    let value: f64 = value.parse().unwrap_or_else(|_| panic!("{what}: the CSV holds {value:?}, not a number"));
    let tolerance = 0.5 * 10f64.powi(-(printed.1 as i32)) + 1e-9;
    assert!((printed.0 - value).abs() <= tolerance, "{what}: RESULTS.md says {}, the CSV {value}", printed.0);
}

/// A printed p-value (`0.210`, `< 0.001`, or `–` for none) against the CSV's.
fn p_agrees(cell: &str, value: &str, what: &str) {
    match numbers(cell).first() {
        None => assert!(value.is_empty(), "{what}: RESULTS.md prints no p, the CSV has {value}"),
        Some(p) if cell.starts_with('<') => assert!(value.parse::<f64>().unwrap() < p.0, "{what}: p {value}"),
        Some(p) => agrees(*p, value, &format!("{what}: p")),
    }
}

/// The rows of the Markdown table that starts after line `start`, as cells.
/// A printed "value [low, high]" (or just "value") against the CSV's `column` and its 95 %
/// interval; how many numbers it checked.
fn estimate_agrees(printed: &[(f64, usize)], csv: &HashMap<String, String>, column: &str, what: &str) -> usize {
    agrees(printed[0], &csv[column], what);
    if printed.len() == 3 {
        agrees(printed[1], &csv["ci95_low"], what);
        agrees(printed[2], &csv["ci95_high"], what);
    }
    printed.len()
}

/// The "n | difference [low, high] | p (Holm)" cells of a paired comparison's row.
fn paired_agrees(cells: &[String], csv: &HashMap<String, String>, what: &str) -> usize {
    assert_eq!(cells[0], csv["n"], "{what}: n");
    let checked = estimate_agrees(&numbers(&cells[1]), csv, "mean_difference", what);
    p_agrees(&cells[2], &csv["p_holm"], what);
    checked + 1
}

fn table(lines: &[&str], start: usize) -> Vec<Vec<String>> {
    lines[start + 1..]
        .iter()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| l.trim_start().starts_with('|'))
        .map(|l| l.trim().trim_matches('|').split('|').map(|c| c.trim().trim_matches('`').to_owned()).collect())
        .collect()
}

#[test]
fn every_number_in_results_tables_is_in_the_committed_csv() {
    let text = std::fs::read_to_string(docs().join("RESULTS.md")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut checked = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(marker) = line.trim().strip_prefix("<!-- ").and_then(|l| l.strip_suffix(" -->")) else { continue };
        let Some((kind, source)) = marker.split_once(": ") else { continue };
        let rows = read_csv(&docs().join(source));
        let table = table(&lines, i);
        assert!(table.len() > 2, "line {}: no table after the marker", i + 1);
        let header = &table[0];
        for row in &table[2..] {
            let metric = &row[0];
            match kind {
                "rounds" => {
                    for (column, cell) in header.iter().zip(row).skip(1) {
                        let round = column.trim_start_matches('r');
                        let printed = numbers(cell);
                        if printed.is_empty() {
                            continue;
                        }
                        let what = format!("{source} {metric} round {round}");
                        let csv = rows
                            .iter()
                            .find(|r| &r["metric"] == metric && r["round"] == round)
                            .unwrap_or_else(|| panic!("{what}: not in the CSV"));
                        checked += estimate_agrees(&printed, csv, "mean", &what);
                    }
                }
                "comparisons" => {
                    // | metric | rB − rA | n | difference [low, high] | p (Holm) | 1→0 | 0→1 |
                    let rounds: Vec<&str> = row[1].split(" - ").map(|r| r.trim().trim_start_matches('r')).collect();
                    let what = format!("{source} {metric} {}", row[1]);
                    let csv = rows
                        .iter()
                        .find(|r| &r["metric"] == metric && r["round"] == rounds[0] && r["against"] == rounds[1])
                        .unwrap_or_else(|| panic!("{what}: not in the CSV"));
                    checked += paired_agrees(&row[2..5], csv, &what);
                    for (cell, column) in row[5..7].iter().zip(["went_1_to_0", "went_0_to_1"]) {
                        if cell != "–" {
                            assert_eq!(cell, &csv[column], "{what}: {column}");
                        }
                    }
                }
                "conditions" => {
                    // | metric | condition | quantity | n | difference [low, high] | p (Holm) |
                    let what = format!("{source} {metric} {} {}", row[1], row[2]);
                    let csv = rows
                        .iter()
                        .find(|r| &r["metric"] == metric && r["condition"] == row[1] && r["quantity"] == row[2])
                        .unwrap_or_else(|| panic!("{what}: not in the CSV"));
                    checked += paired_agrees(&row[3..6], csv, &what);
                }
                other => panic!("line {}: unknown table source {other:?}", i + 1),
            }
        }
    }
    assert!(checked > 0, "RESULTS.md quotes no table from the committed CSVs");
}

#[test]
fn cells_are_read_with_their_decimals() {
    assert_eq!(numbers("0.231 [0.180, 0.290]"), vec![(0.231, 3), (0.18, 3), (0.29, 3)]);
    assert_eq!(numbers("+0.05 [-0.02, +0.11]"), vec![(0.05, 2), (-0.02, 2), (0.11, 2)]);
    assert_eq!(numbers("< 0.001"), vec![(0.001, 3)]);
    assert!(numbers("–").is_empty());
}
