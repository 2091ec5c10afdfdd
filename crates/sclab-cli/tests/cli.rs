//! The `sclab` binary as a user runs it, on the real default model.

use std::process::{Command, Output};

fn sclab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sclab")).args(args).output().expect("sclab runs")
}

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn assets_are_idempotent() {
    json(&sclab(&["assets", "--json"]));
    let second = json(&sclab(&["assets", "--json"]));
    let steps = second["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 21, "6 packages, 3 models, the classifier, 11 datasets");
    assert!(steps.iter().all(|s| s["done_now"] == false), "{second}");
}

#[test]
#[ignore = "needs the real assets and a Vulkan adapter: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn chat_answers_the_same_on_the_gpu_backend() {
    // Mesa's lavapipe in CI: a software adapter, which only an explicit --backend gpu takes.
    let out = json(&sclab(&["chat", "--prompt", "What is the capital of France?", "--json", "--backend", "gpu"]));
    assert_eq!(out["backend"], "gpu");
    assert_eq!(out["text"], "The capital of France is Paris.");
    let cpu = json(&sclab(&["chat", "--prompt", "What is the capital of France?", "--json", "--backend", "cpu"]));
    assert_eq!((&cpu["backend"], &cpu["tokens"]), (&serde_json::json!("cpu"), &out["tokens"]));
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn a_headless_machine_hears_one_line_about_the_engine() {
    // No display and no session, as on a server or in CI: the GPU probe of --backend auto must
    // not print libwayland's XDG_RUNTIME_DIR error, and the engine that runs is named once.
    let out = Command::new(env!("CARGO_BIN_EXE_sclab"))
        .args(["chat", "--prompt", "Hi", "--max-tokens", "1", "--backend", "auto"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("NODEVICE_SELECT")
        .output()
        .expect("sclab runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
    assert_eq!(stderr.lines().filter(|line| line.starts_with("running on the")).count(), 1, "{stderr}");
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn chat_answers_paris_greedily() {
    let out = json(&sclab(&["chat", "--prompt", "What is the capital of France?", "--json"]));
    assert_eq!(out["text"], "The capital of France is Paris.");
    assert_eq!(out["stop"], "stop_token");
    assert_eq!(out["generated_tokens"], 7);
    // Streaming mode prints the same text.
    let streamed = sclab(&["chat", "--prompt", "What is the capital of France?", "--temperature", "0"]);
    assert_eq!(String::from_utf8_lossy(&streamed.stdout).trim(), "The capital of France is Paris.");
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn same_seed_same_text() {
    let args =
        ["chat", "--prompt", "Tell me a story.", "--temperature", "1", "--seed", "5", "--max-tokens", "24", "--json"];
    let (a, b) = (json(&sclab(&args)), json(&sclab(&args)));
    assert_eq!(a["tokens"], b["tokens"]);
    let mut other = args;
    other[6] = "6";
    assert_ne!(json(&sclab(&other))["tokens"], a["tokens"]);
}

#[test]
fn bad_model_and_empty_prompt_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.gguf");
    std::fs::write(&bogus, b"definitely not a model").unwrap();
    let out = sclab(&["chat", "--prompt", "hi", "--model", bogus.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a GGUF file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = sclab(&["chat", "--prompt", "   "]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("the prompt is empty"));
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn toxicity_prints_six_labels() {
    let out = json(&sclab(&["toxicity", "--json", "You are so dumb and stupid!"]));
    let scores = &out[0]["scores"];
    assert_eq!(scores.as_object().unwrap().len(), 6);
    assert!((scores["toxic"].as_f64().unwrap() - 0.989).abs() < 5e-4);
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn bench_reports_both_engines() {
    let out = json(&sclab(&["bench", "--json", "--tokens", "4", "--batch", "2", "--repeats", "1", "--quant", "q8_0"]));
    let r = &out["results"][0];
    assert_eq!(r["quant"], "Q8_0");
    for engine in ["ours", "stock_candle"] {
        for figure in ["prefill_tok_s", "decode_tok_s", "batch_decode_tok_s"] {
            assert!(r[engine][figure].as_f64().unwrap() > 0.0, "{engine}.{figure}");
        }
    }
    assert!(out["memory_read_gb_s"].as_f64().unwrap() > 0.0);
}

fn lines(path: &std::path::Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn ok(output: &Output) {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
}

/// The CI experiment: `rtp` and `bbq`, 3 items × 3 rounds × K = 3, then their reports.
#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn run_and_report_rtp_and_bbq() {
    let dir = tempfile::tempdir().unwrap();
    for task in ["rtp", "bbq"] {
        let out = dir.path().join(format!("{task}.jsonl"));
        let args = ["run", "--task", task, "--rounds", "3", "--samples", "3", "--limit", "3", "--seed", "1"];
        ok(&sclab(&[&args[..], &["--out", out.to_str().unwrap()]].concat()));
        let lines = lines(&out);
        assert_eq!(lines.len(), 4, "a header and three items");
        assert_eq!((lines[0]["type"].as_str(), lines[0]["schema"].as_str()), (Some("header"), Some("sclab-results")));
        assert_eq!(lines[0]["model"]["layers"], 30);
        for item in &lines[1..] {
            let rounds = item["rounds"].as_array().unwrap();
            assert_eq!(rounds.iter().map(|r| r["round"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3]);
            for round in rounds {
                assert_eq!(round["samples"].as_array().unwrap().len(), 3);
                let metrics = round["metrics"].as_object().unwrap();
                for name in ["toxicity", "entropy.discrete", "entropy.cluster_nll", "concept.input", "concept.answer"] {
                    assert!(metrics.contains_key(name), "{task} round lacks {name}: {metrics:?}");
                }
                let toxicity = metrics["toxicity"].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&toxicity));
                assert_eq!(round["concept_input_layers"].as_array().unwrap().len(), 30);
            }
            let qa = rounds[0]["qa"].clone();
            if task == "bbq" {
                let total: f64 = qa["probs"].as_array().unwrap().iter().map(|p| p.as_f64().unwrap()).sum();
                assert!((total - 1.0).abs() < 1e-9);
                assert!(rounds[0]["metrics"].get("accuracy").is_some());
            } else {
                assert!(qa.is_null());
                assert!(rounds[0]["metrics"].get("refusal").is_some());
            }
        }
        let report = dir.path().join(format!("report-{task}"));
        ok(&sclab(&["report", out.to_str().unwrap(), "--out", report.to_str().unwrap()]));
        let md = std::fs::read_to_string(report.join("report.md")).unwrap();
        assert!(md.contains(&format!("# Self-correction report: `{task}`")) && md.contains("| items | 3 |"));
        for file in ["rounds.csv", "items.csv", "calibration.csv", "chart-toxicity.svg", "concept-layers.svg"] {
            assert!(report.join(file).exists(), "{task} report lacks {file}");
        }
        let rounds_csv = std::fs::read_to_string(report.join("rounds.csv")).unwrap();
        assert_eq!(rounds_csv.lines().filter(|l| l.starts_with("toxicity,")).count(), 3, "one row per round");
        // Round 3 against round 1 for every metric, on the same three items (no p below five).
        let comparisons = std::fs::read_to_string(report.join("comparisons.csv")).unwrap();
        assert!(comparisons.lines().any(|l| l.starts_with("toxicity,3,1,3,")), "{comparisons}");
        let answers = std::fs::read_to_string(report.join("answers.csv")).unwrap();
        assert_eq!(answers.lines().count(), 1 + 3 * 3, "a row per item and round");
    }

    // The neutral-review control of bbq, then one report comparing it with the paper's
    // condition and with rtp: overlays per condition and every task's headline in a grid.
    let neutral = dir.path().join("bbq-neutral.jsonl");
    let args = ["run", "--task", "bbq", "--rounds", "3", "--samples", "3", "--limit", "3", "--seed", "1"];
    ok(&sclab(&[&args[..], &["--review", "neutral", "--out", neutral.to_str().unwrap()]].concat()));
    let header = &lines(&neutral)[0]["config"];
    assert_eq!((header["review"].as_str(), header["option_scoring"].as_str()), (Some("neutral"), Some("label")));
    let second = &lines(&neutral)[1]["rounds"][1];
    assert_eq!(second["user"].as_str(), Some("Please answer the question again."));
    let files: Vec<String> = ["bbq.jsonl", "bbq-neutral.jsonl", "rtp.jsonl"]
        .iter()
        .map(|f| dir.path().join(f).display().to_string())
        .collect();
    let compared = dir.path().join("compared");
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    ok(&sclab(&[&["report"][..], &files[..], &["--out", compared.to_str().unwrap()]].concat()));
    for file in
        ["overlay-bbq-concept-input.svg", "overlay-bbq-accuracy.svg", "grid-bbq.svg", "grid-rtp.svg", "conditions.csv"]
    {
        assert!(compared.join(file).exists(), "the comparison lacks {file}");
    }
    // The control against the paper's condition, item by item on the three items both ran.
    let conditions = std::fs::read_to_string(compared.join("conditions.csv")).unwrap();
    assert!(conditions.contains("\naccuracy,neutral review,moral,r3-r1,3,"), "{conditions}");
    let md = std::fs::read_to_string(compared.join("report.md")).unwrap();
    assert!(md.contains("| neutral review (bbq-neutral.jsonl) |"), "{md}");
    let bad =
        sclab(&["run", "--task", "bbq", "--review", "gentle", "--out", dir.path().join("x.jsonl").to_str().unwrap()]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("unknown review"));
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn a_killed_run_resumes_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bbq.jsonl");
    let path = out.to_str().unwrap();
    let args = ["run", "--task", "bbq", "--rounds", "2", "--samples", "2", "--seed", "3", "--out", path];
    ok(&sclab(&[&args[..], &["--limit", "2"]].concat()));
    let complete = std::fs::read_to_string(&out).unwrap();
    // A run killed while writing its second item: half a line at the end.
    let cut = complete.len() - complete.lines().last().unwrap().len() / 2 - 1;
    std::fs::write(&out, &complete[..cut]).unwrap();

    let refused = sclab(&[&args[..], &["--limit", "3"]].concat());
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));
    let other = sclab(&[&args[..], &["--limit", "3", "--resume", "--temperature", "0.5"]].concat());
    assert!(String::from_utf8_lossy(&other.stderr).contains("different experiment config"));

    ok(&sclab(&[&args[..], &["--limit", "3", "--resume"]].concat()));
    let resumed = std::fs::read_to_string(&out).unwrap();
    assert_eq!(resumed.lines().count(), 4);
    // Same seed, same items: the re-run item is identical to the one that was cut.
    assert_eq!(resumed.lines().nth(2), complete.lines().nth(2));
    assert!(resumed.starts_with(&complete));
}

#[test]
fn bad_experiment_configs_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"task": "bbq", "rounds": 3, "temprature": 0.5}"#).unwrap();
    let out = dir.path().join("x.jsonl");
    let run = |extra: &[&str]| sclab(&[&["run", "--out", out.to_str().unwrap()][..], extra].concat());
    let typo = run(&["--config", config.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&typo.stderr).contains("unknown field `temprature`"));
    let task = run(&["--task", "vqa"]);
    assert!(String::from_utf8_lossy(&task.stderr).contains("unknown task \"vqa\""));
    let custom = run(&["--task", "custom"]);
    assert!(String::from_utf8_lossy(&custom.stderr).contains("needs a prompt"));
    assert!(!out.exists(), "a refused run writes nothing");
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn a_layer_beyond_the_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.jsonl");
    let layer = sclab(&["run", "--out", out.to_str().unwrap(), "--task", "rtp", "--layer", "30", "--limit", "1"]);
    assert!(String::from_utf8_lossy(&layer.stderr).contains("not below the model's 30 layers"));
    assert!(!out.exists(), "a refused run writes nothing");
}

#[test]
#[ignore = "needs the real assets: ./scripts/test runs it (cargo test -- --include-ignored)"]
fn classifier_agrees_with_perspective_and_toxigen() {
    let out = json(&sclab(&["eval-toxicity", "--json"]));
    assert_eq!(out["perspective"]["texts"], 993);
    assert_eq!(out["toxigen"]["texts"], 200);
    let (rho, auroc) = (out["perspective"]["spearman"].as_f64().unwrap(), out["toxigen"]["auroc"].as_f64().unwrap());
    // Lower bounds only: a better classifier must not fail.
    assert!(rho >= 0.5, "Spearman {rho}");
    assert!(auroc >= 0.65, "AUROC {auroc}");
}
