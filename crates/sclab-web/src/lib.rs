//! The Self-Correction Lab in the browser: the engine, the round protocol and the experiment
//! of the native tool, compiled to wasm and driven from a dedicated Web Worker (`web/worker.js`).
//!
//! The worker holds one [`WebLab`]; the page only ever sees the events it forwards. Results
//! use the CLI's schema, so a run exported from the page reads like a `sclab run` file.

mod blob_source;
mod events;
mod lab;
mod watch;

use sclab_core::experiment::record::ItemRecord;
use sclab_core::experiment::summary::Summary;
use serde::Serialize;
use wasm_bindgen::prelude::*;

pub use lab::WebLab;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

#[wasm_bindgen]
pub fn csv_tables(items: JsValue, seed: u64) -> Result<JsValue, JsError> {
    let items: Vec<ItemRecord> = serde_wasm_bindgen::from_value(items).map_err(error)?;
    let tables = sclab_core::experiment::tables::csv_files(&items, &Summary::of(&items, seed)).map_err(error)?;
    to_js(&tables)
}

/// The JSON of the task's default experiment config (paper instruction texts included), for
/// the page's controls.
#[wasm_bindgen]
pub fn default_config(task: &str) -> Result<JsValue, JsError> {
    let task = sclab_core::tasks::TaskId::parse(task).ok_or_else(|| JsError::new(&format!("unknown task {task:?}")))?;
    let mut config = sclab_core::experiment::ExperimentConfig::for_task(task);
    config.instructions = Some(task.instructions());
    to_js(&config)
}

/// The experimental condition of a config in words ("moral", "neutral review", "moral, immoral
/// at 2,5,8", …), for the legend of a compared run.
#[wasm_bindgen]
pub fn condition(config: JsValue) -> Result<String, JsError> {
    let config: sclab_core::experiment::ExperimentConfig =
        serde_wasm_bindgen::from_value(config).map_err(|e| JsError::new(&format!("invalid experiment config: {e}")))?;
    Ok(config.condition())
}

/// The metrics (name, label, description, unit), the charts and what each draws per task, the
/// tasks (label, provenance, headline) and the settings' limits: everything the page names or
/// bounds, from Rust's tables (`experiment::vocabulary`).
#[wasm_bindgen]
pub fn vocabulary() -> Result<JsValue, JsError> {
    to_js(&sclab_core::experiment::vocabulary::vocabulary())
}

fn error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js(value: &impl Serialize) -> Result<JsValue, JsError> {
    value.serialize(&serde_wasm_bindgen::Serializer::json_compatible()).map_err(error)
}

fn js(value: serde_json::Value) -> Result<JsValue, JsError> {
    to_js(&value)
}
