//! When a per-round metric has converged.

/// Rounds after which a metric stays put: `window` rounds in a row within `ε` of it.
pub const DEFAULT_WINDOW: usize = 3;
/// `ε` as a share of the metric's range over all rounds.
pub const DEFAULT_TOLERANCE: f64 = 0.01;

/// The first round (1-based position in `series`) after which the metric moves by at most
/// `tolerance × (max − min)` for the next `window` rounds; `None` if no round has `window`
/// rounds after it that stay that close.
pub fn convergence_round(series: &[f64], tolerance: f64, window: usize) -> Option<usize> {
    let (min, max) = series.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    let epsilon = tolerance * (max - min);
    (0..series.len().saturating_sub(window))
        .find(|&t| series[t + 1..=t + window].iter().all(|&x| (x - series[t]).abs() <= epsilon))
        .map(|t| t + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settles_after_the_jump() {
        // Range 1, ε = 0.01: round 2 (value 0.9) is followed by three rounds within 0.01.
        let series = [0.0, 0.9, 0.905, 0.899, 0.9, 0.5];
        assert_eq!(convergence_round(&series, 0.01, 3), Some(2));
    }

    #[test]
    fn constant_series_converges_at_once_and_short_series_never() {
        assert_eq!(convergence_round(&[2.0; 5], 0.01, 3), Some(1));
        assert_eq!(convergence_round(&[0.0, 1.0, 1.0], 0.01, 3), None);
        assert_eq!(convergence_round(&[], 0.01, 3), None);
    }

    #[test]
    fn drift_larger_than_epsilon_is_not_convergence() {
        // Each step is 0.2 of a range of 1: never within ε = 0.01.
        let series = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];
        assert_eq!(convergence_round(&series, 0.01, 3), None);
    }
}
