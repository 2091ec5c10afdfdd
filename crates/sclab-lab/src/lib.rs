//! What the command line (`sclab`) and the page (`sclab-web`) share above the engines, so that
//! each front end only turns its own input into calls and the calls' events into its output.

pub mod backend;
pub mod session;

pub use backend::{placement, AnyBackend, PlaceError, Placement, Preference, GPU_CACHE_POSITIONS};
pub use session::{ConceptStore, LabError, ModelSource, Session};
