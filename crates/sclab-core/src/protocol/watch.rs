/// Which decoding stream of a round a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The greedy answer that continues the conversation.
    Answer,
    /// Entropy sample `i` of the round.
    Sample(usize),
}

/// The parts one round's time goes to, in the order a round does them. Each is timed on its
/// own, so their sum is the round's time less what the caller does between rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// The round's new turn through the model (and, after a lost device, the replay).
    Prefill,
    /// The K entropy samples, decoded as one batch.
    Samples,
    /// The QA options scored after the round input.
    OptionScores,
    /// The greedy answer, and its last token once more for the answer's hidden state.
    Answer,
    /// The classifier on the answer.
    Toxicity,
    /// Grouping the samples by meaning (sentence embeddings, or entailment on the model).
    Clustering,
    /// The concept directions, controls and probe on the round's hidden states.
    Concept,
}

impl Phase {
    pub const ALL: [Phase; 7] = [
        Phase::Prefill,
        Phase::Samples,
        Phase::OptionScores,
        Phase::Answer,
        Phase::Toxicity,
        Phase::Clustering,
        Phase::Concept,
    ];

    /// The snake_case name the page and the benchmark report use.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Prefill => "prefill",
            Phase::Samples => "samples",
            Phase::OptionScores => "option_scores",
            Phase::Answer => "answer",
            Phase::Toxicity => "toxicity",
            Phase::Clustering => "clustering",
            Phase::Concept => "concept",
        }
    }
}

/// How a caller follows a running protocol between decoding steps (to stream the answer) and
/// stops it (`false` cancels the round; finished rounds stay with the caller).
pub trait Watch {
    fn token(&self, round: usize, stream: Stream, token: u32) -> bool;

    /// Round `round` spent `seconds` in `phase` (benchmarks and the page's timings listen).
    fn phase(&self, _round: usize, _phase: Phase, _seconds: f64) {}
}

/// A plain "is it cancelled?" check is the simplest watch.
impl<F: Fn() -> bool> Watch for F {
    fn token(&self, _round: usize, _stream: Stream, _token: u32) -> bool {
        !self()
    }
}

/// Times one phase: started now, reported to the watch by [`PhaseTimer::stop`].
pub(crate) struct PhaseTimer(web_time::Instant);

impl PhaseTimer {
    pub fn start() -> Self {
        Self(web_time::Instant::now())
    }

    pub fn stop(self, watch: &dyn Watch, round: usize, phase: Phase) {
        watch.phase(round, phase, self.0.elapsed().as_secs_f64());
    }
}

/// Seconds per phase, summed over the rounds reported to it until taken.
#[derive(Debug, Default)]
pub struct PhaseTally(std::cell::RefCell<[f64; Phase::ALL.len()]>);

impl PhaseTally {
    pub fn add(&self, phase: Phase, seconds: f64) {
        self.0.borrow_mut()[phase as usize] += seconds;
    }

    /// Every phase with its seconds so far, in round order; the tally starts again from zero.
    pub fn take(&self) -> Vec<(Phase, f64)> {
        let totals = std::mem::take(&mut *self.0.borrow_mut());
        Phase::ALL.into_iter().zip(totals).collect()
    }
}

/// A tally is a watch that never cancels.
impl Watch for PhaseTally {
    fn token(&self, _round: usize, _stream: Stream, _token: u32) -> bool {
        true
    }

    fn phase(&self, _round: usize, phase: Phase, seconds: f64) {
        self.add(phase, seconds);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_sums_each_phase_until_taken() {
        let tally = PhaseTally::default();
        tally.phase(1, Phase::Samples, 0.25);
        tally.phase(2, Phase::Samples, 0.5);
        tally.phase(2, Phase::Concept, 0.125);
        let taken = tally.take();
        assert_eq!(taken.iter().map(|(p, _)| *p).collect::<Vec<_>>(), Phase::ALL);
        let seconds = |phase| taken.iter().find(|(p, _)| *p == phase).unwrap().1;
        assert_eq!((seconds(Phase::Samples), seconds(Phase::Concept), seconds(Phase::Prefill)), (0.75, 0.125, 0.0));
        assert!(tally.take().iter().all(|(_, s)| *s == 0.0), "taking starts the tally again");
    }
}
