//! Confidence calibration of QA answers: expected and maximum calibration error over ten
//! equal-width bins, and the reliability diagram's bins.

use serde::{Deserialize, Serialize};

pub const BINS: usize = 10;

/// One bin of the reliability diagram: predictions whose confidence falls in `[lower, upper)`
/// (the last bin includes 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
    pub mean_confidence: f64,
    pub accuracy: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// `Σ_b (n_b / N) |accuracy_b − confidence_b|`.
    pub ece: f64,
    /// `max_b |accuracy_b − confidence_b|` over non-empty bins.
    pub mce: f64,
    pub bins: Vec<ReliabilityBin>,
}

/// Calibration of predictions given as `(confidence in [0, 1], correct)`.
pub fn calibration(predictions: &[(f64, bool)]) -> Calibration {
    let mut bins: Vec<ReliabilityBin> = (0..BINS)
        .map(|b| ReliabilityBin {
            lower: b as f64 / BINS as f64,
            upper: (b + 1) as f64 / BINS as f64,
            count: 0,
            mean_confidence: 0.0,
            accuracy: 0.0,
        })
        .collect();
    for &(confidence, correct) in predictions {
        let b = ((confidence.clamp(0.0, 1.0) * BINS as f64) as usize).min(BINS - 1);
        bins[b].count += 1;
        bins[b].mean_confidence += confidence;
        bins[b].accuracy += if correct { 1.0 } else { 0.0 };
    }
    let n = predictions.len().max(1) as f64;
    let (mut ece, mut mce) = (0.0, 0.0f64);
    for bin in bins.iter_mut().filter(|b| b.count > 0) {
        bin.mean_confidence /= bin.count as f64;
        bin.accuracy /= bin.count as f64;
        let gap = (bin.accuracy - bin.mean_confidence).abs();
        ece += bin.count as f64 / n * gap;
        mce = mce.max(gap);
    }
    Calibration { ece, mce, bins }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfectly_calibrated_predictions_have_zero_error() {
        // Confidence 0.75, right three times out of four.
        let c = calibration(&[(0.75, true), (0.75, true), (0.75, true), (0.75, false)]);
        assert!(c.ece.abs() < 1e-12 && c.mce.abs() < 1e-12);
        assert_eq!(c.bins[7].count, 4);
    }

    #[test]
    fn hand_computed_ece_and_mce() {
        // Bin 9: confidences 0.9, 1.0 (mean 0.95), one right → gap 0.45, weight 2/4.
        // Bin 3: confidences 0.3, 0.35 (mean 0.325), both right → gap 0.675, weight 2/4.
        let c = calibration(&[(0.9, true), (1.0, false), (0.3, true), (0.35, true)]);
        assert!((c.ece - (0.5 * 0.45 + 0.5 * 0.675)).abs() < 1e-12, "{}", c.ece);
        assert!((c.mce - 0.675).abs() < 1e-12);
        assert_eq!(c.bins[9].count, 2, "confidence 1.0 falls in the last bin");
        assert!((c.bins[9].mean_confidence - 0.95).abs() < 1e-12);
        assert_eq!(c.bins.iter().map(|b| b.count).sum::<usize>(), 4);
    }

    #[test]
    fn the_most_confident_prediction_is_counted() {
        // The paper's released `ece_score` drops the most confident item; here a lone
        // prediction at confidence 1 is the whole sample.
        let wrong = calibration(&[(1.0, false)]);
        assert_eq!((wrong.bins[BINS - 1].count, wrong.ece, wrong.mce), (1, 1.0, 1.0));
        let right = calibration(&[(1.0, true)]);
        assert_eq!((right.bins[BINS - 1].count, right.ece), (1, 0.0));
    }
}
