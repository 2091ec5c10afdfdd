//! The paper's measurements as plain functions over numbers: no model, no I/O.

pub mod calibration;
pub mod concept;
pub mod convergence;
pub mod entropy;
pub mod probe;
pub mod simulation;
pub mod stats;
