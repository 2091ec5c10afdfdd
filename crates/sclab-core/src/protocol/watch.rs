/// Which decoding stream of a round a token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The greedy answer that continues the conversation.
    Answer,
    /// Entropy sample `i` of the round.
    Sample(usize),
}

/// How a caller follows a running protocol between decoding steps (to stream the answer) and
/// stops it (`false` cancels the round; finished rounds stay with the caller).
pub trait Watch {
    fn token(&self, round: usize, stream: Stream, token: u32) -> bool;
}

/// A plain "is it cancelled?" check is the simplest watch.
impl<F: Fn() -> bool> Watch for F {
    fn token(&self, _round: usize, _stream: Stream, _token: u32) -> bool {
        !self()
    }
}
