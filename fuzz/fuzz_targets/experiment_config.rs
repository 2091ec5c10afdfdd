//! The experiment config as a shared link carries it (the page decodes the URL hash to this
//! JSON) or a config file holds it: parsed, checked, and everything derived from it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sclab_core::experiment::{Experiment, ExperimentConfig};

/// The default model's depth, against which a config's layer is checked.
const LAYERS: usize = 30;

fuzz_target!(|data: &[u8]| {
    let Ok(config) = serde_json::from_slice::<ExperimentConfig>(data) else { return };
    if config.validate(LAYERS).is_err() {
        return;
    }
    let _ = (config.condition(), config.concept_prefix(), config.layer(LAYERS), config.clustering());
    let _ = config.same_measurements(&config);
    let items = vec![sclab_testkit::tiny_task_item(); 3];
    let _ = config.select(items);
    let _ = Experiment::new(config, LAYERS);
});
