//! A results file read back (`sclab report`, `merge`, `run --resume`): parsed, summarised with
//! every statistic the report prints, written out as the report's tables, and compared with
//! itself as another condition.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sclab_core::experiment::conditions::compare_conditions;
use sclab_core::experiment::record::Results;
use sclab_core::experiment::summary::Summary;
use sclab_core::experiment::tables::csv_files;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(results) = Results::parse(text) else { return };
    let summary = Summary::of(&results.items, results.header.config.seed);
    let _ = csv_files(&results.items, &summary);
    let metrics: Vec<&str> = summary.metrics.keys().map(String::as_str).collect();
    let _ = compare_conditions((&results.items, "a"), (&results.items, "b"), &metrics, &summary.rounds);
});
