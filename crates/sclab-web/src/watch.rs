//! The protocol's watch inside the worker: each new token is decoded and sent to the page, and
//! the page's Cancel button is read from a shared flag between tokens (no message can reach a
//! worker that is busy decoding).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use sclab_core::protocol::{Phase, PhaseTally, Stream, Watch};
use sclab_model::{TextStream, Tokenizer};

use crate::events::Event;

pub struct PageWatch<'a> {
    pub index: usize,
    pub tokenizer: &'a Tokenizer,
    pub emit: &'a dyn Fn(Event),
    /// `Int32Array` over a `SharedArrayBuffer`; non-zero asks the run to stop.
    pub cancel: Option<&'a js_sys::Int32Array>,
    pub streams: RefCell<HashMap<(usize, Stream), TextStream<'a>>>,
    /// The round's phases so far.
    pub phases: PhaseTally,
    /// Seconds spent decoding and sending streamed text this round (inside the decode phases).
    pub streaming: Cell<f64>,
}

impl PageWatch<'_> {
    pub fn cancelled(&self) -> bool {
        self.cancel.is_some_and(|flag| js_sys::Atomics::load(flag, 0).is_ok_and(|v| v != 0))
    }

    /// The round's time so far in milliseconds per part (see `Event::Timing`); starts again at zero.
    pub fn take_timing(&self) -> Vec<(&'static str, f64)> {
        let mut ms: Vec<_> = self.phases.take().into_iter().map(|(phase, s)| (phase.name(), s * 1e3)).collect();
        ms.push(("stream", self.streaming.take() * 1e3));
        ms
    }
}

impl Watch for PageWatch<'_> {
    fn token(&self, round: usize, stream: Stream, token: u32) -> bool {
        let started = web_time::Instant::now();
        let mut streams = self.streams.borrow_mut();
        let text = streams.entry((round, stream)).or_insert_with(|| TextStream::new(self.tokenizer)).push(token);
        if let Ok(Some(text)) = text {
            let index = self.index;
            (self.emit)(match stream {
                Stream::Answer => Event::Token { index, round, text: &text },
                Stream::Sample(sample) => Event::Sample { index, round, sample, text: &text },
            });
        }
        self.streaming.set(self.streaming.get() + started.elapsed().as_secs_f64());
        !self.cancelled()
    }

    fn phase(&self, _round: usize, phase: Phase, seconds: f64) {
        self.phases.add(phase, seconds);
    }
}
