//! The assets the page fetches, staged under `static/assets/` from the asset cache (hard links
//! where the file system allows, copies otherwise) with a `manifest.json` that names each file
//! with a version stamp, so the browser's caches never serve a stale model.

use std::path::{Path, PathBuf};

use anyhow::Context;
use sclab_assets::manifest::SMOLLM2;
use sclab_assets::models::{DEFAULT_DESCRIPTION, DEFAULT_MODEL, OPT_IN_MODELS};
use sclab_assets::Cache;
use sclab_core::experiment::ExperimentConfig;
use sclab_core::tasks::TaskId;
use serde_json::{json, Map, Value};

use crate::lab::Lab;
use crate::model_choice::{ensure_asset, ModelArgs, QuantArg};

/// Stage everything under `root/static/assets` and return the manifest written there.
pub fn stage(root: &Path) -> anyhow::Result<Value> {
    let cache = Cache::from_env();
    let out = root.join("static").join("assets");
    std::fs::create_dir_all(out.join("datasets"))?;
    std::fs::create_dir_all(out.join("concepts"))?;
    let stage = |from: &Path, to: &str| -> anyhow::Result<Value> { link(from, &out.join(to)).map(|v| json!(v)) };

    // The default model first, then every opt-in model installed (`sclab assets --model`), each
    // with its tasks' concepts measured here once, so the page need not measure them.
    let installed = OPT_IN_MODELS.into_iter().filter(|m| cache.opt_in_model(m).exists());
    let mut models = Vec::new();
    let mut concepts = Map::new();
    for (id, description, licence) in std::iter::once((DEFAULT_MODEL, DEFAULT_DESCRIPTION, SMOLLM2.licence))
        .chain(installed.map(|m| (m.name, m.description, m.licence)))
    {
        let args = ModelArgs { model: Some(PathBuf::from(id)), ..ModelArgs::default_on_cpu(QuantArg::Q8_0) };
        let path = args.path()?;
        let mut lab = Lab::open(&args)?;
        let name = file_name(&path);
        models.push(json!({
            "id": id,
            "description": description,
            "licence": licence,
            "url": stage(&path, &name)?,
            "name": name,
            "bytes": path.metadata()?.len(),
            "sha256": lab.session.model_sha256,
        }));
        // Each task's own concept at its answer prefix, keyed as the page looks them up.
        for task in TaskId::ALL {
            let config = ExperimentConfig::for_task(task);
            let (concept, prefix) = (config.concept(), config.concept_prefix());
            let key = lab.session.concept_key(concept, &prefix);
            if concepts.contains_key(&key) {
                continue;
            }
            lab.concept(concept, &prefix)?;
            let file = lab.concept_file(concept, &prefix);
            concepts.insert(key, stage(&file, &format!("concepts/{}", file_name(&file)))?);
        }
    }
    let toxicity = cache.toxicity();
    let classifier = json!({
        "weights": stage(&toxicity.join(sclab_engine::toxicity::WEIGHTS_FILE), "toxicity.safetensors")?,
        "vocab": stage(&toxicity.join(sclab_engine::toxicity::VOCAB_FILE), "toxicity_vocab.json")?,
    });
    let embedder_dir = cache.embedder();
    ensure_asset(&cache, &embedder_dir.join(sclab_engine::embedder::WEIGHTS_FILE))?;
    let embedder_file = |name: &str| stage(&embedder_dir.join(name), &format!("minilm-{name}"));
    let embedder = json!({
        "config": embedder_file(sclab_engine::embedder::CONFIG_FILE)?,
        "tokenizer": embedder_file(sclab_engine::embedder::TOKENIZER_FILE)?,
        "weights": embedder_file(sclab_engine::embedder::WEIGHTS_FILE)?,
        "bytes": embedder_dir.join(sclab_engine::embedder::WEIGHTS_FILE).metadata()?.len(),
    });
    let mut datasets = Map::new();
    for entry in std::fs::read_dir(cache.datasets())? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            datasets.insert(name.clone(), stage(&path, &format!("datasets/{name}.jsonl"))?);
        }
    }
    let manifest = json!({
        // The page's model selector, in this order; the first is what it loads unasked.
        "models": models,
        "classifier": classifier,
        "embedder": embedder,
        "datasets": datasets,
        // Measured on the staged models only; the page measures a visitor's own model itself.
        "concepts": concepts,
    });
    let text = serde_json::to_vec_pretty(&manifest)?;
    crate::lab::write_atomically(&out.join("manifest.json"), &text)?;
    Ok(manifest)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Link (or copy) `from` to `to`; returns the URL path of `to` relative to the page with a
/// version stamp of the file's size and modification time.
fn link(from: &Path, to: &Path) -> anyhow::Result<String> {
    let meta = from.metadata().with_context(|| format!("asset {} is missing", from.display()))?;
    let same = to.metadata().is_ok_and(|m| m.len() == meta.len() && m.modified().ok() == meta.modified().ok());
    if !same {
        let _ = std::fs::remove_file(to);
        if std::fs::hard_link(from, to).is_err() {
            std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        }
    }
    let mtime = meta.modified()?.duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let relative: PathBuf = to.iter().skip_while(|c| *c != "static").collect();
    Ok(format!("{}?v={:x}-{mtime:x}", relative.to_string_lossy(), meta.len()))
}
