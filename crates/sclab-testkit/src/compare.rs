//! Comparing float vectors in tests, lengths first: zipping a shorter result against the
//! reference would compare fewer values and pass.

/// The largest absolute difference between `got` and `want`; panics when their lengths differ.
pub fn max_abs_diff(got: &[f32], want: &[f32]) -> f32 {
    assert_eq!(got.len(), want.len(), "the compared vectors differ in length");
    got.iter().zip(want).map(|(g, w)| (g - w).abs()).fold(0.0, f32::max)
}

/// [`max_abs_diff`] relative to the largest magnitude in `want` (at least 1e-6).
pub fn relative_diff(got: &[f32], want: &[f32]) -> f32 {
    max_abs_diff(got, want) / want.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6)
}

/// `got` equals `want` within `tolerance` of the largest value in `want`; `what` names it.
pub fn assert_close(got: &[f32], want: &[f32], tolerance: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    let off = relative_diff(got, want);
    assert!(off <= tolerance, "{what}: off by {off} of the largest value (tolerance {tolerance})");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_absolute_or_relative_to_the_largest_value() {
        assert_eq!(max_abs_diff(&[1.0, -2.0, 3.0], &[1.5, -2.0, 2.0]), 1.0);
        assert_eq!(relative_diff(&[1.0, -4.0], &[1.0, -2.0]), 1.0);
        assert_close(&[1.0, 2.001], &[1.0, 2.0], 1e-3, "near");
    }

    #[test]
    #[should_panic(expected = "differ in length")]
    fn a_shorter_vector_fails_instead_of_comparing_fewer_values() {
        max_abs_diff(&[1.0], &[1.0, 2.0]);
    }

    #[test]
    #[should_panic(expected = "far: off by 0.5")]
    fn values_beyond_the_tolerance_fail() {
        assert_close(&[1.0, 1.0], &[1.0, 2.0], 1e-3, "far");
    }
}
