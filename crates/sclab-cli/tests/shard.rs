//! Sweeps split over machines: `sclab run --shard k/n` in separate processes, then `sclab merge`,
//! on the real default model with the cheapest real setup (BBQ, one round, no samples).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sclab(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sclab"));
    command.args(args);
    command
}

fn ok(output: Output) -> Output {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Fails, and says `needle` on standard error.
fn refused(output: Output, needle: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success() && stderr.contains(needle), "expected {needle:?}, got: {stderr}");
    stderr
}

const RUN: [&str; 12] =
    ["run", "--task", "bbq", "--rounds", "1", "--samples", "0", "--max-tokens", "4", "--backend", "cpu", "--seed"];

/// `sclab run` of the cheap setup with `seed` and `limit`, plus `extra` flags.
fn run(out: &Path, seed: &str, limit: &str, extra: &[&str]) -> Command {
    sclab(&[&RUN[..], &[seed, "--limit", limit, "--out", out.to_str().unwrap()], extra].concat())
}

/// The k/n shards of one run, as separate processes at once, as on a cluster.
fn run_shards(dir: &Path, name: &str, n: usize, seed: &str, limit: &str, extra: &[&str]) -> Vec<PathBuf> {
    let files: Vec<PathBuf> = (1..=n).map(|k| dir.join(format!("{name}.shard-{k}.jsonl"))).collect();
    let running: Vec<_> = files
        .iter()
        .enumerate()
        .map(|(k, file)| {
            run(file, seed, limit, &[&["--shard", &format!("{}/{n}", k + 1)], extra].concat()).spawn().unwrap()
        })
        .collect();
    for child in running {
        ok(child.wait_with_output().unwrap());
    }
    files
}

fn merge(inputs: &[&PathBuf], out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(inputs.iter().map(|p| p.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    sclab(&args).output().unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn merged_shards_equal_the_unsharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.jsonl");
    ok(run(&whole, "1", "6", &[]).output().unwrap());
    let unsharded = read(&whole);
    assert_eq!(unsharded.lines().count(), 7, "a header and six items");

    let shards = run_shards(dir.path(), "bbq", 3, "1", "6", &[]);
    for shard in &shards {
        assert_eq!(read(shard).lines().next(), unsharded.lines().next(), "every shard has the run's header");
        assert_eq!(read(shard).lines().count(), 3, "a header and two items");
    }
    let merged = dir.path().join("merged.jsonl");
    ok(merge(&[&shards[2], &shards[0], &shards[1]], &merged, &[]));
    assert_eq!(read(&merged), unsharded);

    // An unfinished shard: refused, or merged as far as it goes with --partial.
    let partial = dir.path().join("partial.jsonl");
    refused(merge(&[&shards[0], &shards[2]], &partial, &[]), "2 of the run's 6 items are missing");
    assert!(!partial.exists(), "a refused merge writes nothing");
    ok(merge(&[&shards[0], &shards[2]], &partial, &["--partial"]));
    let second_shard = read(&shards[1]);
    let missing: Vec<&str> = second_shard.lines().skip(1).collect();
    let expected: Vec<&str> = unsharded.lines().filter(|l| !missing.contains(l)).collect();
    assert_eq!(read(&partial).lines().collect::<Vec<_>>(), expected);

    // Shards created with --limit 3 and resumed with --limit 6 keep their first header (limit
    // 3), as an unsharded file does, and merge into the same six items in the same order.
    let grown = run_shards(dir.path(), "grown", 3, "1", "3", &[]);
    run_shards(dir.path(), "grown", 3, "1", "6", &["--resume"]);
    let merged = dir.path().join("grown.jsonl");
    ok(merge(&grown.iter().collect::<Vec<_>>(), &merged, &[]));
    let merged = read(&merged);
    assert!(merged.lines().next().unwrap().contains(r#""limit":3"#));
    assert_eq!(merged.lines().skip(1).collect::<Vec<_>>(), unsharded.lines().skip(1).collect::<Vec<_>>());
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn merge_refuses_other_runs_duplicates_and_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let shards = run_shards(dir.path(), "bbq", 2, "1", "4", &[]);
    let other_seed = dir.path().join("seed-2.jsonl");
    ok(run(&other_seed, "2", "4", &["--shard", "2/2"]).output().unwrap());
    let copy = dir.path().join("copy.jsonl");
    std::fs::copy(&shards[0], &copy).unwrap();
    let out = dir.path().join("merged.jsonl");

    let stderr = refused(merge(&[&shards[0], &other_seed], &out, &[]), "config.seed");
    assert!(stderr.contains("bbq.shard-1.jsonl") && stderr.contains("seed-2.jsonl"), "{stderr}");
    let first_item: serde_json::Value = serde_json::from_str(read(&shards[0]).lines().nth(1).unwrap()).unwrap();
    let first_id = first_item["id"].as_str().unwrap();
    refused(merge(&[&shards[0], &shards[1], &copy], &out, &[]), &format!("item {first_id} is in both"));
    assert!(!out.exists(), "a refused merge writes nothing");

    let before = read(&shards[0]);
    refused(merge(&[&shards[0], &shards[1]], &shards[0], &[]), "is one of the inputs");
    assert_eq!(read(&shards[0]), before);
}

#[test]
fn bad_shards_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.jsonl");
    for bad in ["0/3", "4/3", "x"] {
        refused(
            run(&out, "1", "6", &["--shard", bad]).output().unwrap(),
            &format!("invalid value '{bad}' for '--shard"),
        );
    }
    assert!(!out.exists());
}
