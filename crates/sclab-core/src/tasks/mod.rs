//! What the tasks share: the paper's instruction texts and the reading of answers. The task
//! catalogue itself (items from the datasets, their ground truth and metrics) builds on these.

pub mod answers;
pub mod instructions;
