//! When a per-round metric has converged, and how an item's answer moves from round to round.

/// The first round (1-based position in `means`) that has a later round and after which every
/// later round stays within `epsilon` of it, to the end of the series; `None` if the series
/// moves by more than `epsilon` after every round before the last. A departure in any later
/// round, however late, undoes the settling.
pub fn settled_round(means: &[f64], epsilon: f64) -> Option<usize> {
    (0..means.len().saturating_sub(1))
        .find(|&t| means[t + 1..].iter().all(|&x| (x - means[t]).abs() <= epsilon))
        .map(|t| t + 1)
}

/// The `epsilon` of [`settled_round`] from the sampling error: the median of the rounds' 95 %
/// half-widths. A change smaller than a round mean's own sampling error is not a change. 0 for
/// no rounds, so that only exact equality counts as settled.
pub fn sampling_epsilon(half_widths: &[f64]) -> f64 {
    let mut sorted = half_widths.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Rounds whose answer differs from the previous round's.
pub fn changes<T: PartialEq>(answers: &[T]) -> usize {
    answers.windows(2).filter(|pair| pair[0] != pair[1]).count()
}

/// Returns to an abandoned answer: rounds whose answer differs from the previous round's and
/// equals an answer given before that (A B A → 1, A B A B → 2, A B C → 0, A A B B → 0).
pub fn oscillations<T: PartialEq>(answers: &[T]) -> usize {
    (2..answers.len()).filter(|&t| answers[t] != answers[t - 1] && answers[..t - 1].contains(&answers[t])).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settles_where_every_later_round_stays_close() {
        // Round 3 (0.62) is followed only by values within 0.05 of it.
        assert_eq!(settled_round(&[0.9, 0.7, 0.62, 0.6, 0.63, 0.61], 0.05), Some(3));
        assert_eq!(settled_round(&[0.4; 4], 0.0), Some(1));
    }

    #[test]
    fn a_late_departure_undoes_settling() {
        // Three rounds at 0.3 would pass a window of three rounds, but the last round leaves.
        assert_eq!(settled_round(&[0.5, 0.3, 0.3, 0.3, 0.3, 0.6], 0.05), None);
    }

    #[test]
    fn oscillation_and_short_series_never_settle() {
        assert_eq!(settled_round(&[0.0, 1.0, 0.0, 1.0, 0.0, 1.0], 0.05), None);
        assert_eq!(settled_round(&[0.3], 0.05), None, "the last round has no later round");
        assert_eq!(settled_round(&[], 0.05), None);
    }

    #[test]
    fn epsilon_is_the_median_half_width() {
        assert_eq!(sampling_epsilon(&[0.3, 0.1, 0.2]), 0.2);
        assert_eq!(sampling_epsilon(&[0.4, 0.1, 0.2, 0.3]), 0.25);
        assert_eq!(sampling_epsilon(&[]), 0.0);
    }

    #[test]
    fn answer_changes_and_returns() {
        assert_eq!((changes(&["A", "B", "A"]), oscillations(&["A", "B", "A"])), (2, 1));
        assert_eq!((changes(&["A", "B", "A", "B"]), oscillations(&["A", "B", "A", "B"])), (3, 2));
        assert_eq!((changes(&["A", "B", "C"]), oscillations(&["A", "B", "C"])), (2, 0));
        assert_eq!((changes(&["A", "A", "B", "B"]), oscillations(&["A", "A", "B", "B"])), (1, 0));
        // Staying on a returned-to answer is not a second return.
        assert_eq!(oscillations(&[1, 2, 1, 1]), 1);
        assert_eq!((changes::<u8>(&[]), oscillations(&[7])), (0, 0));
    }
}
