//! Dataset rows (JSON lines, as the page fetches them and the asset step writes them) parsed,
//! and the rows that parse turned into every task's items.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sclab_core::tasks::{load_items, parse_rows, BbqSubset, TaskId};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_rows("fuzzed", &text);
    let rows: Vec<serde_json::Value> = text.lines().filter_map(|line| parse_rows("fuzzed", line).ok()).flatten().collect();
    let dataset = |_: &str| Ok(rows.clone());
    for task in TaskId::ALL {
        for subset in [BbqSubset::Ambiguous, BbqSubset::Disambiguated] {
            let _ = load_items(task, subset, Some("A prompt"), &dataset, 1);
        }
    }
});
