//! What the command line (`sclab`) and the page (`sclab-web`) share above the engines, so that
//! each front end only turns its own input into calls and the calls' events into its output.

pub mod backend;
pub mod session;

pub use backend::{gpu_backend, AnyBackend, PlaceError, Preference, GPU_CACHE_POSITIONS};
pub use session::{ConceptStore, LabError, ModelSource, Session};
