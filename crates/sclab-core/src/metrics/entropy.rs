//! Semantic entropy of K samples grouped into meaning clusters (Farquhar et al. 2024, and the
//! variant of the paper's code).

/// One sampled answer: its meaning cluster, its total log-probability and its length in tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub cluster: usize,
    pub log_prob: f64,
    pub tokens: usize,
}

/// `−Σ (n_k/K) log(n_k/K)` over clusters of sizes `n_k`.
pub fn discrete(samples: &[Sample]) -> f64 {
    let k = samples.len() as f64;
    cluster_ids(samples)
        .into_iter()
        .map(|c| {
            let p = samples.iter().filter(|s| s.cluster == c).count() as f64 / k;
            -p * p.ln()
        })
        .sum()
}

/// `−Σ p_k log p_k` with `p_k ∝ Σ_{s ∈ C_k} exp(log p(s) / |s|)`, normalised over the clusters.
/// Each sample's log-probability is averaged over its tokens (Malinin & Gales' length
/// normalisation): total log-probabilities of free-text answers differ by tens of nats with
/// length alone, so one short sample would hold nearly all the mass.
pub fn likelihood(samples: &[Sample]) -> f64 {
    let clusters = cluster_ids(samples);
    let per_token = |s: &Sample| s.log_prob / s.tokens.max(1) as f64;
    // Work relative to the largest score so that nothing underflows to zero.
    let max = samples.iter().map(per_token).fold(f64::NEG_INFINITY, f64::max);
    let masses: Vec<f64> = clusters
        .iter()
        .map(|&c| samples.iter().filter(|s| s.cluster == c).map(|s| (per_token(s) - max).exp()).sum())
        .collect();
    let total: f64 = masses.iter().sum();
    masses.iter().map(|m| m / total).filter(|&p| p > 0.0).map(|p| -p * p.ln()).sum()
}

/// The paper's variant: the mean over clusters of the mean token-averaged negative
/// log-likelihood of the cluster's members.
pub fn cluster_nll(samples: &[Sample]) -> f64 {
    let clusters = cluster_ids(samples);
    let per_cluster: Vec<f64> = clusters
        .iter()
        .map(|&c| {
            let members: Vec<f64> =
                samples.iter().filter(|s| s.cluster == c).map(|s| -s.log_prob / s.tokens.max(1) as f64).collect();
            members.iter().sum::<f64>() / members.len() as f64
        })
        .collect();
    per_cluster.iter().sum::<f64>() / per_cluster.len().max(1) as f64
}

fn cluster_ids(samples: &[Sample]) -> Vec<usize> {
    let mut ids: Vec<usize> = samples.iter().map(|s| s.cluster).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(clusters: &[usize], log_probs: &[f64], tokens: &[usize]) -> Vec<Sample> {
        clusters
            .iter()
            .zip(log_probs)
            .zip(tokens)
            .map(|((&cluster, &log_prob), &tokens)| Sample { cluster, log_prob, tokens })
            .collect()
    }

    #[test]
    fn discrete_entropy_of_known_clusterings() {
        // One cluster: no uncertainty.
        assert_eq!(discrete(&samples(&[0, 0, 0, 0, 0], &[0.0; 5], &[1; 5])), 0.0);
        // Five singletons: log 5.
        let all_different = discrete(&samples(&[0, 1, 2, 3, 4], &[0.0; 5], &[1; 5]));
        assert!((all_different - 5f64.ln()).abs() < 1e-12);
        // Sizes 3 and 2: −0.6 ln 0.6 − 0.4 ln 0.4 = 0.673011667…
        let split = discrete(&samples(&[7, 7, 7, 2, 2], &[0.0; 5], &[1; 5]));
        assert!((split - 0.673_011_667_009_256_4).abs() < 1e-12);
    }

    #[test]
    fn likelihood_entropy_weights_clusters_by_probability() {
        // Cluster masses e^-1 + e^-1 and 2 e^-1: equal, so ln 2.
        let even = likelihood(&samples(&[0, 0, 1], &[-1.0, -1.0, -1.0 + 2f64.ln()], &[1; 3]));
        assert!((even - 2f64.ln()).abs() < 1e-12);
        // Masses 3:1 → −0.75 ln 0.75 − 0.25 ln 0.25 = 0.562335144…
        let skewed = likelihood(&samples(&[0, 1], &[3f64.ln() - 500.0, -500.0], &[1; 2]));
        assert!((skewed - 0.562_335_144_618_808).abs() < 1e-9, "{skewed}");
    }

    #[test]
    fn likelihood_entropy_is_length_normalised() {
        // Per token: −20/10 = −2 and −2/1 = −2: equal masses, ln 2, although the totals differ
        // by 18 nats (unnormalised, the short one would hold 1 − 1.5e-8 of the mass).
        let s = samples(&[0, 1], &[-20.0, -2.0], &[10, 1]);
        assert!((likelihood(&s) - 2f64.ln()).abs() < 1e-12);
        // Five different answers of equal per-token probability: ln 5, whatever their lengths.
        let s = samples(&[0, 1, 2, 3, 4], &[-5.0, -10.0, -50.0, -1.0, -25.0], &[5, 10, 50, 1, 25]);
        assert!((likelihood(&s) - 5f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn cluster_nll_averages_tokens_then_members_then_clusters() {
        // Cluster 0: NLL/token 2 and 4 → 3; cluster 1: 1 → mean 2.
        let s = samples(&[0, 0, 1], &[-4.0, -8.0, -3.0], &[2, 2, 3]);
        assert!((cluster_nll(&s) - 2.0).abs() < 1e-12);
    }
}
