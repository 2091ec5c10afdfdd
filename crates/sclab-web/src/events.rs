//! What the worker tells the page while a run goes on. Every event is a plain JSON-compatible
//! object with a `type`; docs/JSON.md lists them.

use sclab_core::experiment::record::{Header, ItemRecord, RoundRecord};
use sclab_core::experiment::summary::Summary;
use serde::Serialize;
use wasm_bindgen::JsValue;

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event<'a> {
    /// The run's results header (the same as a results file's first line).
    Header {
        header: &'a Header,
    },
    /// Item `index` of `total` begins; its record has no rounds yet.
    ItemStarted {
        index: usize,
        total: usize,
        record: &'a ItemRecord,
    },
    /// Text decoded from the newest token of the round's answer.
    Token {
        index: usize,
        round: usize,
        text: &'a str,
    },
    /// Text decoded from the newest token of entropy sample `sample` (0-based) of the round.
    Sample {
        index: usize,
        round: usize,
        sample: usize,
        text: &'a str,
    },
    /// A round of item `index` is answered and measured.
    Round {
        index: usize,
        record: &'a RoundRecord,
    },
    /// Where round `round`'s time went in the worker, in milliseconds per part: the protocol's
    /// phases (`Phase::name`), `stream` (decoding and sending the streamed text) and `summary`
    /// (the aggregate sent after the round). The page adds its own parts (`sclab:` measures).
    Timing {
        index: usize,
        round: usize,
        ms: Vec<(&'static str, f64)>,
    },
    /// Item `index` is finished (its record is the results file's item line).
    Item {
        index: usize,
        record: &'a ItemRecord,
    },
    /// The aggregate over every round measured so far, finished items and the current one.
    Summary {
        summary: &'a Summary,
    },
    Progress {
        rounds_done: usize,
        rounds_total: usize,
    },
    Finished {
        items: usize,
        cancelled: bool,
    },
    /// The engine changed mid-run (the GPU was lost): the item goes on from its last finished
    /// round, so text streamed for an unfinished round starts over.
    Backend {
        index: usize,
        backend: &'a str,
        device: &'a str,
        reason: &'a str,
    },
    /// The run stopped on an error (the finished rounds and items stay with the page).
    Error {
        message: &'a str,
    },
}

impl Event<'_> {
    pub fn to_js(&self) -> JsValue {
        self.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).expect("events are plain data")
    }
}
