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
fn assets_are_idempotent() {
    json(&sclab(&["assets", "--json"]));
    let second = json(&sclab(&["assets", "--json"]));
    let steps = second["steps"].as_array().unwrap();
    assert!(steps.len() >= 20);
    assert!(steps.iter().all(|s| s["done_now"] == false), "{second}");
}

#[test]
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
fn toxicity_prints_six_labels() {
    let out = json(&sclab(&["toxicity", "--json", "You are so dumb and stupid!"]));
    let scores = &out[0]["scores"];
    assert_eq!(scores.as_object().unwrap().len(), 6);
    assert!((scores["toxic"].as_f64().unwrap() - 0.989).abs() < 5e-4);
}

#[test]
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
