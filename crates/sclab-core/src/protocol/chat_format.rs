use super::ProtocolError;

/// How a model's chat format turns the turns of a conversation into tokens. The engine
/// implements it with the chat template stored in the model file.
pub trait ChatFormat {
    /// Tokens of a conversation's first user turn, opened for an assistant answer that begins
    /// with `answer_prefix`.
    fn open(&self, user: &str, answer_prefix: &str) -> Result<Vec<u32>, ProtocolError>;

    /// Tokens that close the last answer and add a user turn, opened for an answer beginning
    /// with `answer_prefix`. `history` holds every earlier `(user, full answer)` pair, the last
    /// one being the answer just given.
    fn next(&self, history: &[(String, String)], user: &str, answer_prefix: &str) -> Result<Vec<u32>, ProtocolError>;

    fn encode(&self, text: &str) -> Result<Vec<u32>, ProtocolError>;

    fn decode(&self, tokens: &[u32]) -> Result<String, ProtocolError>;
}
