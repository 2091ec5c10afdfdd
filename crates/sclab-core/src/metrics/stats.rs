//! Summary statistics with 95 % intervals, tests of paired comparisons, the item bootstrap and
//! the Holm correction for testing several hypotheses at once.

use rand::Rng;
use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, StudentsT};

use crate::sampling::seeded_rng;

/// Below this many observations no interval and no p-value is reported: the sample standard
/// deviation of fewer values is too unstable for an interval to mean much.
pub const MIN_INTERVAL_N: usize = 5;

/// The normal quantile of a two-sided 95 % score interval.
const Z_975: f64 = 1.959964;

/// The bootstrap's own random stream, so that its resamples are not the draws another use of
/// the same seed makes.
const BOOTSTRAP_STREAM: u64 = 0xb007;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanInterval {
    pub mean: f64,
    /// Half-width of the 95 % confidence interval of the mean (Student's t); 0 for n < 2.
    pub half_width: f64,
    pub n: usize,
}

impl MeanInterval {
    /// The 95 % interval, or `None` below [`MIN_INTERVAL_N`] observations.
    pub fn bounds(&self) -> Option<(f64, f64)> {
        (self.n >= MIN_INTERVAL_N).then_some((self.mean - self.half_width, self.mean + self.half_width))
    }
}

pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// Sample standard deviation (n − 1 in the denominator).
pub fn std_dev(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs);
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

pub fn mean_interval(xs: &[f64]) -> MeanInterval {
    let n = xs.len();
    let half_width = if n < 2 { 0.0 } else { t_quantile(0.975, (n - 1) as f64) * std_dev(xs) / (n as f64).sqrt() };
    MeanInterval { mean: mean(xs), half_width, n }
}

/// The `p` quantile of Student's t with `df` degrees of freedom; NaN when `df` is not positive
/// or `p` lies outside [0, 1].
pub fn t_quantile(p: f64, df: f64) -> f64 {
    match StudentsT::new(0.0, 1.0, df) {
        Ok(t) if (0.0..=1.0).contains(&p) => t.inverse_cdf(p),
        _ => f64::NAN,
    }
}

/// Pearson correlation; 0 when either side is constant.
pub fn pearson(xs: &[f64], ys: &[f64]) -> f64 {
    let (mx, my) = (mean(xs), mean(ys));
    let cov: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
    let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
    if vx == 0.0 || vy == 0.0 {
        0.0
    } else {
        cov / (vx * vy).sqrt()
    }
}

/// Spearman's rank correlation: Pearson's r of the ranks, ties sharing their mean rank.
pub fn spearman(xs: &[f64], ys: &[f64]) -> f64 {
    pearson(&ranks(xs), &ranks(ys))
}

/// 1-based ranks, ties sharing their mean rank.
pub(crate) fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..xs.len()).collect();
    order.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut ranks = vec![0.0; xs.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && xs[order[end]] == xs[order[start]] {
            end += 1;
        }
        let shared = (start + end - 1) as f64 / 2.0 + 1.0;
        for &i in &order[start..end] {
            ranks[i] = shared;
        }
        start = end;
    }
    ranks
}

/// A share of successes with its 95 % Wilson score interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Proportion {
    pub successes: usize,
    pub n: usize,
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

/// Wilson's score interval: unlike the normal approximation it stays inside [0, 1] and keeps
/// its coverage near 0 and 1 and for small n. With n = 0 nothing is known: the interval is all
/// of [0, 1] and the estimate its centre, ½.
pub fn wilson(successes: usize, n: usize) -> Proportion {
    if n == 0 {
        return Proportion { successes, n, estimate: 0.5, low: 0.0, high: 1.0 };
    }
    let (count, estimate, z2) = (n as f64, successes as f64 / n as f64, Z_975 * Z_975);
    let shrink = 1.0 + z2 / count;
    let centre = (estimate + z2 / (2.0 * count)) / shrink;
    let half_width = Z_975 / shrink * (estimate * (1.0 - estimate) / count + z2 / (4.0 * count * count)).sqrt();
    Proportion { successes, n, estimate, low: (centre - half_width).max(0.0), high: (centre + half_width).min(1.0) }
}

/// Two-sided exact p-value of McNemar's test from the discordant pair counts `b` and `c`:
/// without a change each discordant pair is as likely to go one way as the other, so the
/// smaller count is a tail of Binomial(b + c, ½), doubled and capped at 1.
pub fn mcnemar_exact(b: usize, c: usize) -> f64 {
    let discordant = (b + c) as u64;
    match Binomial::new(0.5, discordant) {
        Ok(binomial) if discordant > 0 => (2.0 * binomial.cdf(b.min(c) as u64)).min(1.0),
        _ => 1.0,
    }
}

/// Which test a [`PairedDifference`] used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PairedTest {
    /// Every value was 0 or 1: exact McNemar test and Newcombe's interval.
    McnemarExact,
    /// Paired t-test and Student-t interval on the differences.
    PairedT,
}

/// The change of a measure between two conditions on the same items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedDifference {
    /// Number of pairs.
    pub n: usize,
    /// Mean of `after − before`; for 0/1 values the change in the share of ones.
    pub mean: f64,
    /// The 95 % interval of `mean`; `None` below [`MIN_INTERVAL_N`] pairs.
    pub low: Option<f64>,
    pub high: Option<f64>,
    /// Two-sided p-value of "no change"; `None` below [`MIN_INTERVAL_N`] pairs.
    pub p_value: Option<f64>,
    pub test: PairedTest,
    /// For 0/1 values, the discordant pairs: (went 1 → 0, went 0 → 1). Named by direction, not
    /// by "worse" and "better", because a 1 is good for accuracy and bad for toxicity.
    pub discordant: Option<(usize, usize)>,
}

/// Compares `after[i]` with `before[i]`, item by item (the caller keeps only the items measured
/// in both conditions).
///
/// For a `binary` measure (a share: every value 0 or 1) the p-value is the exact McNemar test on the discordant pairs and
/// the interval is Newcombe's (1998) method 10 for paired proportions: the Wilson intervals of
/// the two shares combined with the correlation of the paired table. Otherwise a paired
/// t-test with its Student-t interval.
///
/// # Panics
/// When the two slices differ in length.
pub fn paired_difference(before: &[f64], after: &[f64], binary: bool) -> PairedDifference {
    assert_eq!(before.len(), after.len(), "a paired comparison needs one `after` per `before`");
    let n = before.len();
    let differences: Vec<f64> = before.iter().zip(after).map(|(b, a)| a - b).collect();
    let enough = n >= MIN_INTERVAL_N;
    // A continuous measure that happens to be 0 or 1 everywhere (an entropy of one cluster) is
    // still compared as a mean; a share with another value cannot be a share.
    let binary = binary && before.iter().chain(after).all(|&x| x == 0.0 || x == 1.0);
    let (test, discordant, inference) = if binary {
        let count = |from: f64, to: f64| before.iter().zip(after).filter(|&(&b, &a)| b == from && a == to).count();
        let table = PairedTable { both: count(1.0, 1.0), lost: count(1.0, 0.0), gained: count(0.0, 1.0), n };
        let inference = enough.then(|| (newcombe_interval(&table), mcnemar_exact(table.lost, table.gained)));
        (PairedTest::McnemarExact, Some((table.lost, table.gained)), inference)
    } else {
        (PairedTest::PairedT, None, enough.then(|| paired_t(&differences)))
    };
    PairedDifference {
        n,
        mean: mean(&differences),
        low: inference.map(|((low, _), _)| low),
        high: inference.map(|((_, high), _)| high),
        p_value: inference.map(|(_, p_value)| p_value),
        test,
        discordant,
    }
}

/// Items by their 0/1 value before and after: `both` stayed 1, `lost` went 1 → 0, `gained` went
/// 0 → 1, the rest of the `n` stayed 0.
struct PairedTable {
    both: usize,
    lost: usize,
    gained: usize,
    n: usize,
}

/// Newcombe's method 10 for `share after − share before`. The Wilson intervals of the two
/// shares are combined as for independent samples, but with the paired table's correlation φ,
/// because the same items make up both shares.
fn newcombe_interval(table: &PairedTable) -> (f64, f64) {
    let neither = table.n - table.both - table.lost - table.gained;
    let (ones_before, ones_after) = (table.both + table.lost, table.both + table.gained);
    let (before, after) = (wilson(ones_before, table.n), wilson(ones_after, table.n));
    let margins = [ones_before, table.n - ones_before, ones_after, table.n - ones_after];
    let margin_product: f64 = margins.iter().map(|&m| m as f64).product();
    let phi = if margin_product > 0.0 {
        (table.both as f64 * neither as f64 - table.lost as f64 * table.gained as f64) / margin_product.sqrt()
    } else {
        0.0
    };
    let spread = |x: f64, y: f64| (x * x - 2.0 * phi * x * y + y * y).max(0.0).sqrt();
    let difference = after.estimate - before.estimate;
    (
        difference - spread(after.estimate - after.low, before.high - before.estimate),
        difference + spread(after.high - after.estimate, before.estimate - before.low),
    )
}

/// The 95 % Student-t interval of the mean of at least two differences and the two-sided
/// p-value of a zero mean.
fn paired_t(differences: &[f64]) -> ((f64, f64), f64) {
    let n = differences.len();
    let df = (n - 1) as f64;
    let (m, standard_error) = (mean(differences), std_dev(differences) / (n as f64).sqrt());
    let half_width = t_quantile(0.975, df) * standard_error;
    // Identical differences have no spread: all zero is no evidence of a change (t = 0), any
    // other constant is certain evidence (t = ±∞).
    let t = if m == 0.0 { 0.0 } else { m / standard_error };
    let p_value = StudentsT::new(0.0, 1.0, df).map_or(f64::NAN, |dist| (2.0 * dist.sf(t.abs())).min(1.0));
    ((m - half_width, m + half_width), p_value)
}

/// A 95 % percentile bootstrap interval over items: each of `resamples` draws `n_items` item
/// indices with replacement (a seeded ChaCha stream) and hands them to `statistic`, which
/// returns `None` (or a non-finite value) where it is undefined on that resample. `None` below
/// [`MIN_INTERVAL_N`] items, or when the statistic is defined on fewer than half the resamples.
pub fn bootstrap_interval(
    n_items: usize,
    resamples: usize,
    seed: u64,
    mut statistic: impl FnMut(&[usize]) -> Option<f64>,
) -> Option<(f64, f64)> {
    if n_items < MIN_INTERVAL_N {
        return None;
    }
    let mut rng = seeded_rng(seed, BOOTSTRAP_STREAM);
    let mut sample = vec![0; n_items];
    let mut values = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for item in sample.iter_mut() {
            *item = rng.random_range(0..n_items);
        }
        values.extend(statistic(&sample).filter(|v| v.is_finite()));
    }
    if values.is_empty() || 2 * values.len() < resamples {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some((quantile_of_sorted(&values, 0.025), quantile_of_sorted(&values, 0.975)))
}

/// The `q` quantile of sorted values, interpolating linearly between neighbouring order
/// statistics.
fn quantile_of_sorted(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    sorted[below] + position.fract() * (sorted[above] - sorted[below])
}

/// Holm–Bonferroni adjusted p-values, in the input order: the i-th smallest p is multiplied by
/// the number of hypotheses not yet rejected before it, kept monotone and capped at 1. Reject
/// where the adjusted p is below α and the family-wise error stays at most α.
pub fn holm(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let mut adjusted = vec![0.0; m];
    let mut largest_so_far = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        largest_so_far = largest_so_far.max((m - rank) as f64 * p_values[i]).min(1.0);
        adjusted[i] = largest_so_far;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
        (actual - expected).abs() <= tolerance
    }

    #[test]
    fn t_quantiles_match_published_tables() {
        let published = [
            (1.0, 12.7062),
            (2.0, 4.3027),
            (30.0, 2.0423),
            (40.0, 2.0211),
            (60.0, 2.0003),
            (100.0, 1.9840),
            (120.0, 1.9799),
        ];
        for (df, expected) in published {
            let t = t_quantile(0.975, df);
            assert!(close(t, expected, 5e-5), "df {df}: {t}");
        }
        assert!(close(t_quantile(0.025, 10.0), -t_quantile(0.975, 10.0), 1e-12));
        assert!(t_quantile(0.975, 0.0).is_nan());
    }

    #[test]
    fn interval_of_hand_computed_sample() {
        // mean 2, s = 1, n = 3: half-width t(0.975, 2) · 1/√3 = 4.302653 / 1.732051 = 2.484138.
        let i = mean_interval(&[1.0, 2.0, 3.0]);
        assert_eq!(i.mean, 2.0);
        assert!(close(i.half_width, 2.484138, 1e-6), "{}", i.half_width);
        assert_eq!(mean_interval(&[5.0]).half_width, 0.0);
    }

    #[test]
    fn no_interval_below_five_observations() {
        assert_eq!(mean_interval(&[1.0, 2.0, 3.0, 4.0]).bounds(), None);
        // n = 5, mean 3, s = √2.5: half-width 2.776445 · 1.581139 / 2.236068 = 1.963243.
        let (low, high) = mean_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]).bounds().unwrap();
        assert!(close(low, 3.0 - 1.963243, 1e-6) && close(high, 3.0 + 1.963243, 1e-6), "{low} {high}");
    }

    #[test]
    fn pearson_of_lines_and_constants() {
        assert!((pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 6.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        assert_eq!(pearson(&[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0]), 0.0);
        // Hand value: x = 1..4, y = 1, 3, 2, 4 → r = 0.8.
        assert!((pearson(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]) - 0.8).abs() < 1e-12);
    }

    #[test]
    fn spearman_uses_ranks_with_shared_ties() {
        // Monotone but not linear: ρ = 1 where r < 1.
        assert!((spearman(&[1.0, 2.0, 3.0, 4.0], &[1.0, 10.0, 100.0, 1000.0]) - 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 5.0]), vec![2.0, 3.5, 3.5, 1.0]);
        // Hand value: ranks 1..4 against 1, 3, 2, 4 → ρ = 1 − 6·2/(4·15) = 0.8.
        assert!((spearman(&[0.1, 0.2, 0.3, 0.4], &[5.0, 7.0, 6.0, 8.0]) - 0.8).abs() < 1e-12);
    }

    #[test]
    fn wilson_intervals_match_published_values() {
        // Hand-computed and published values (81/263 is an example of Newcombe 1998).
        for (successes, n, low, high) in
            [(0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (3, 10, 0.1078, 0.6032), (81, 263, 0.2553, 0.3662)]
        {
            let p = wilson(successes, n);
            assert!(close(p.low, low, 5e-5) && close(p.high, high, 5e-5), "{successes}/{n}: {p:?}");
            assert_eq!(p.estimate, successes as f64 / n as f64);
        }
        assert_eq!(wilson(0, 0), Proportion { successes: 0, n: 0, estimate: 0.5, low: 0.0, high: 1.0 });
    }

    #[test]
    fn mcnemar_exact_p_values() {
        // "Exact" names the test (the binomial, not the χ² approximation); the regularised beta
        // function that evaluates the binomial tail is good to about 1e-15.
        assert!(close(mcnemar_exact(0, 5), 0.0625, 1e-12)); // 2 · 1/32
        assert!(close(mcnemar_exact(1, 9), 2.0 * 11.0 / 1024.0, 1e-12));
        assert!(close(mcnemar_exact(9, 1), 2.0 * 11.0 / 1024.0, 1e-12), "symmetric");
        assert_eq!(mcnemar_exact(2, 2), 1.0, "capped");
        assert!(close(mcnemar_exact(3, 7), 0.34375, 1e-12)); // 2 · (1 + 10 + 45 + 120)/1024
        assert_eq!(mcnemar_exact(0, 0), 1.0);
    }

    #[test]
    fn paired_t_of_a_hand_example() {
        // Differences 1, 2, 0, 2, 2: mean 1.4, s² = 3.2/4, standard error √0.8/√5 = 0.4, t = 3.5
        // on 4 df. With 4 df, F(t) = ½ + ⅜·(t/√(1 + t²/4))·(1 − t²/(12(1 + t²/4))) = 0.987552,
        // so p = 0.024896; the interval is 1.4 ± 2.776445 · 0.4.
        let d = paired_difference(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 4.0, 3.0, 6.0, 7.0], false);
        assert_eq!((d.n, d.test, d.discordant), (5, PairedTest::PairedT, None));
        assert!(close(d.mean, 1.4, 1e-12));
        assert!(close(d.p_value.unwrap(), 0.024896, 1e-6), "{:?}", d.p_value);
        assert!(close(d.low.unwrap(), 1.4 - 1.110578, 1e-6) && close(d.high.unwrap(), 1.4 + 1.110578, 1e-6));
    }

    #[test]
    fn constant_differences_are_no_or_certain_evidence() {
        let unchanged = paired_difference(&[0.2, 0.4, 0.6, 0.8, 0.5], &[0.2, 0.4, 0.6, 0.8, 0.5], false);
        assert_eq!((unchanged.p_value, unchanged.low, unchanged.high), (Some(1.0), Some(0.0), Some(0.0)));
        let shifted = paired_difference(&[0.5; 5], &[1.5; 5], false);
        assert_eq!((shifted.p_value, shifted.low), (Some(0.0), Some(1.0)));
    }

    fn paired_table(both: usize, lost: usize, gained: usize, neither: usize) -> (Vec<f64>, Vec<f64>) {
        let mut pairs = vec![(1.0, 1.0); both];
        pairs.extend(vec![(1.0, 0.0); lost]);
        pairs.extend(vec![(0.0, 1.0); gained]);
        pairs.extend(vec![(0.0, 0.0); neither]);
        pairs.into_iter().unzip()
    }

    #[test]
    fn binary_pairs_use_mcnemar_and_newcombe() {
        // One item went 1 → 0, nine went 0 → 1: the share of ones rose by 0.8, p = 2 · 11/1024.
        // Wilson: 1/10 → [0.017875, 0.404150], 9/10 → [0.595850, 0.982125]; φ = −1 (no
        // concordant pairs), so the limits are 0.8 − (0.9 − 0.595850 + 0.404150 − 0.1) and
        // 0.8 + (0.982125 − 0.9 + 0.1 − 0.017875).
        let (before, after) = paired_table(0, 1, 9, 0);
        let d = paired_difference(&before, &after, true);
        assert_eq!((d.test, d.discordant), (PairedTest::McnemarExact, Some((1, 9))));
        assert!(close(d.mean, 0.8, 1e-12));
        assert!(close(d.p_value.unwrap(), 2.0 * 11.0 / 1024.0, 1e-12));
        assert!(close(d.low.unwrap(), 0.191700, 1e-6) && close(d.high.unwrap(), 0.964248, 1e-6), "{d:?}");
    }

    #[test]
    fn newcombe_interval_of_a_table_with_concordant_pairs() {
        // 36 stayed 1, 12 went 1 → 0, 2 went 0 → 1: the share fell by 0.2. Computed by hand
        // from the formula: Wilson of 48/50 and 38/50, φ = −24/√43776 = −0.1147, limits −0.340428 and −0.056930.
        let (before, after) = paired_table(36, 12, 2, 0);
        let d = paired_difference(&before, &after, true);
        assert!(close(d.mean, -0.2, 1e-12));
        assert!(close(d.low.unwrap(), -0.340428, 1e-6) && close(d.high.unwrap(), -0.056930, 1e-6), "{d:?}");
        assert!(close(d.p_value.unwrap(), mcnemar_exact(12, 2), 1e-15));
    }

    #[test]
    fn few_pairs_give_counts_but_no_inference() {
        let d = paired_difference(&[1.0, 1.0, 0.0, 0.0], &[0.0, 1.0, 1.0, 1.0], true);
        assert_eq!((d.n, d.mean, d.discordant), (4, 0.25, Some((1, 2))));
        assert_eq!((d.low, d.high, d.p_value), (None, None, None));
        assert_eq!(paired_difference(&[], &[], false).p_value, None);
    }

    #[test]
    fn bootstrap_of_a_mean_is_seeded_and_covers_it() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        let resampled_mean = |sample: &[usize]| Some(sample.iter().map(|&i| values[i]).sum::<f64>() / 20.0);
        let (low, high) = bootstrap_interval(20, 2000, 7, resampled_mean).unwrap();
        assert_eq!(bootstrap_interval(20, 2000, 7, resampled_mean), Some((low, high)));
        assert_ne!(bootstrap_interval(20, 2000, 8, resampled_mean), Some((low, high)));
        // Mean 10.5; the normal approximation's half-width is 1.96 · 5.766/√20 = 2.53.
        assert!(low < 10.5 && 10.5 < high, "{low} {high}");
        assert!(close(high - low, 2.0 * 2.53, 0.5), "{low} {high}");
    }

    #[test]
    fn bootstrap_of_identical_items_has_zero_width() {
        assert_eq!(bootstrap_interval(8, 100, 1, |_| Some(3.0)), Some((3.0, 3.0)));
    }

    #[test]
    fn bootstrap_needs_items_and_a_mostly_defined_statistic() {
        assert_eq!(bootstrap_interval(4, 100, 1, |_| Some(1.0)), None);
        assert_eq!(bootstrap_interval(10, 100, 1, |_| None), None);
        // Defined where item 0 was drawn: 1 − 0.9^10 = 65 % of resamples. Defined where it was
        // drawn at least twice: 26 %, fewer than half.
        assert!(bootstrap_interval(10, 1000, 1, |s| s.contains(&0).then_some(1.0)).is_some());
        assert_eq!(
            bootstrap_interval(10, 1000, 1, |s| (s.iter().filter(|&&i| i == 0).count() >= 2).then_some(1.0)),
            None
        );
    }

    #[test]
    fn holm_adjusts_in_input_order() {
        // Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → kept at 0.06.
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
        for (a, e) in adjusted.iter().zip([0.03, 0.06, 0.06, 0.02]) {
            assert!(close(*a, e, 1e-12), "{adjusted:?}");
        }
        assert_eq!(holm(&[0.4, 0.5]), vec![0.8, 0.8]);
        assert_eq!(holm(&[0.6, 0.9]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }
}
