//! Conditions of one task compared item by item: a control run (neutral review, immoral or
//! re-asked rounds) against the paper's condition on the same items, matched by id
//! (docs/METHODS.md, "Statistics").

use serde::{Deserialize, Serialize};

use super::metric_names::is_share;
use super::record::ItemRecord;
use crate::metrics::stats::{holm, paired_difference, PairedDifference};

/// One condition against another on the items both measured, at one round or in the change
/// between two rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionComparison {
    pub metric: String,
    pub condition: String,
    pub against: String,
    /// "r2", or "r20-r1" for each item's change between the two rounds.
    pub quantity: String,
    pub difference: PairedDifference,
    /// Holm-corrected across the comparisons of the same two runs.
    pub p_holm: Option<f64>,
}

/// `other` − `base`, item by item (matched by id), for each metric at `rounds` and at the last
/// round both runs have, and in its change from round 1 to that last round (a difference of
/// differences: does the condition change how far the metric moves?). Runs are given with
/// their condition's name.
pub fn compare_conditions(
    base: (&[ItemRecord], &str),
    other: (&[ItemRecord], &str),
    metrics: &[&str],
    rounds: &[usize],
) -> Vec<ConditionComparison> {
    let last_round = |items: &[ItemRecord]| items.iter().flat_map(|i| i.rounds.iter().map(|r| r.round)).max();
    let last = last_round(base.0).unwrap_or(0).min(last_round(other.0).unwrap_or(0));
    let mut out = Vec::new();
    for &metric in metrics {
        let share = is_share(metric);
        let mut rounds: Vec<usize> = rounds.iter().copied().chain([last]).filter(|&r| r >= 1 && r <= last).collect();
        rounds.sort_unstable();
        rounds.dedup();
        // (name, round, change since round 1): a round's value, or each item's change to it.
        let mut quantities: Vec<(String, usize, bool)> =
            rounds.into_iter().map(|r| (format!("r{r}"), r, false)).collect();
        if last > 1 {
            quantities.push((format!("r{last}-r1"), last, true));
        }
        for (quantity, round, change) in quantities {
            let of = |i: &ItemRecord| match change {
                true => Some(i.metric(metric, round)? - i.metric(metric, 1)?),
                false => i.metric(metric, round),
            };
            let (before, after): (Vec<f64>, Vec<f64>) = base
                .0
                .iter()
                .filter_map(|a| {
                    let b = other.0.iter().find(|b| b.id == a.id)?;
                    Some((of(a)?, of(b)?))
                })
                .unzip();
            if before.is_empty() {
                continue;
            }
            out.push(ConditionComparison {
                metric: metric.to_owned(),
                condition: other.1.to_owned(),
                against: base.1.to_owned(),
                quantity,
                // A change is a difference of two 0/1 values, so it is compared as a mean.
                difference: paired_difference(&before, &after, share && !change),
                p_holm: None,
            });
        }
    }
    let tested: Vec<usize> = (0..out.len()).filter(|&i| out[i].difference.p_value.is_some()).collect();
    let adjusted = holm(&tested.iter().map(|&i| out[i].difference.p_value.unwrap_or(1.0)).collect::<Vec<_>>());
    for (k, &i) in tested.iter().enumerate() {
        out[i].p_holm = Some(adjusted[k]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::record::test_round;
    use crate::protocol::RoundKind;
    use crate::tasks::Truth;

    fn item(id: &str, values: &[f64]) -> ItemRecord {
        let rounds = values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let kind = if i == 0 { RoundKind::Moral } else { RoundKind::Review };
                let metrics = [("toxicity".to_owned(), v), ("toxic".to_owned(), f64::from(u8::from(v > 0.5)))].into();
                test_round(i + 1, kind, metrics)
            })
            .collect();
        ItemRecord { id: id.into(), category: None, query: String::new(), truth: Truth::Generation, rounds }
    }

    #[test]
    fn conditions_are_paired_by_item_and_compare_changes() {
        // Five items in both runs, listed in another order, plus one only the control has.
        let base: Vec<ItemRecord> = (0..5).map(|i| item(&format!("i{i}"), &[0.9, 0.2, 0.2])).collect();
        let mut other: Vec<ItemRecord> = (0..5).rev().map(|i| item(&format!("i{i}"), &[0.9, 0.8, 0.6])).collect();
        other.push(item("extra", &[0.0, 0.0, 0.0]));
        let c = compare_conditions((&base, "moral"), (&other, "neutral review"), &["toxicity", "toxic"], &[1, 2, 9]);
        let find = |m: &str, q: &str| c.iter().find(|c| c.metric == m && c.quantity == q).unwrap();
        assert_eq!(find("toxicity", "r1").difference.mean, 0.0);
        assert!((find("toxicity", "r2").difference.mean - 0.6).abs() < 1e-12);
        // Round 9 is past the runs' last round; round 3, the last, is always compared.
        assert!(c.iter().all(|c| c.quantity != "r9") && find("toxicity", "r3").difference.n == 5);
        assert_eq!(find("toxicity", "r2").difference.n, 5, "the extra item has no partner");
        // Each item's change: base 0.2 − 0.9 = −0.7, control 0.6 − 0.9 = −0.3: +0.4 less of a fall.
        assert!((find("toxicity", "r3-r1").difference.mean - 0.4).abs() < 1e-12);
        // `toxic` at round 2: 0 in the paper's condition, 1 in the control for all five: McNemar.
        let toxic = find("toxic", "r2");
        assert_eq!(toxic.difference.discordant, Some((0, 5)));
        assert!((toxic.difference.p_value.unwrap() - 0.0625).abs() < 1e-12);
        assert!(c.iter().all(|c| c.p_holm.is_some() == c.difference.p_value.is_some()));
        assert_eq!(
            (find("toxic", "r2").condition.as_str(), find("toxic", "r2").against.as_str()),
            ("neutral review", "moral")
        );
    }
}
