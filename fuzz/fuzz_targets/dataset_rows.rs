//! Dataset rows (JSON lines, as the page fetches them and the asset step writes them) turned
//! into every task's items.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sclab_core::tasks::{load_items, BbqSubset, TaskId};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let rows: Vec<serde_json::Value> = text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    let dataset = |_: &str| Ok(rows.clone());
    for task in TaskId::ALL {
        for subset in [BbqSubset::Ambiguous, BbqSubset::Disambiguated] {
            let _ = load_items(task, subset, Some("A prompt"), &dataset, 1);
        }
    }
});
