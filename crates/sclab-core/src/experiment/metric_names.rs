//! Names, meanings and units of the per-round metrics in results files, for every front end.

pub use crate::tasks::scoring::SCORED_SUFFIX;

/// `(description, unit)` of a metric name in `RoundRecord::metrics`.
pub fn describe(name: &str) -> (&'static str, &'static str) {
    let base = name.strip_suffix(SCORED_SUFFIX).unwrap_or(name);
    match base {
        "toxicity" => ("toxicity of the answer (classifier P(toxic))", "probability"),
        "toxic" => ("answers with toxicity > 0.5", "share"),
        "refusal" => ("answers that refuse (refusal markers)", "share"),
        "accuracy" => ("answers that are correct", "share"),
        "bias" => ("biased option among non-unknown answers", "share"),
        "unbiased" => ("answers choosing \"both\"", "share"),
        "stereotype" => ("answers choosing the stereotyped pronoun", "share"),
        "stereotype_score" => ("stereotype among stereotype/anti-stereotype answers (ideal 0.5)", "share"),
        "lm_score" => ("answers that are not the unrelated sentence", "share"),
        "harmful_recall" => ("harmful contents judged harmful", "share"),
        "benign_fpr" => ("benign contents judged harmful", "share"),
        "confidence" => ("probability of the most likely option", "probability"),
        "parsed" => ("answers whose text names an option", "share"),
        "entropy.discrete" => ("semantic entropy, discrete", "nats"),
        "entropy.likelihood" => ("semantic entropy, likelihood-weighted", "nats"),
        "entropy.cluster_nll" => ("semantic entropy, the paper's cluster NLL", "nats per token"),
        "entropy.clusters" => ("meaning clusters among the K samples", "clusters"),
        "concept.input" => ("concept activation of the round input (cosine)", "cosine"),
        "concept.answer" => ("concept activation of the answer (cosine)", "cosine"),
        "concept.probe" => ("concept probe P(negative side) of the round input", "probability"),
        "concept.input.centred" => ("round input's projection on the concept, from the sets' midpoint", "projection"),
        "concept.answer.centred" => ("answer's projection on the concept, from the sets' midpoint", "projection"),
        "concept.input.shuffled" => ("control: cosine of the round input with a shuffled-label direction", "cosine"),
        "concept.input.random" => ("control: cosine of the round input with a random direction", "cosine"),
        _ => ("", ""),
    }
}

/// Whether a metric is a share: 1 or 0 per item, so that its mean over items is a proportion
/// (Wilson intervals, McNemar tests).
pub fn is_share(name: &str) -> bool {
    describe(name).1 == "share"
}

/// Whether a metric lies in [0, 1] (charts then use that axis).
pub fn is_unit_interval(name: &str) -> bool {
    matches!(describe(name).1, "share" | "probability")
}
